CREATE TABLE "warehouse"."identities" (
	"partner_id" text NOT NULL,
	"identifier_type" text NOT NULL,
	"identifier_value" text NOT NULL,
	"canonical_type" text NOT NULL,
	"canonical_value" text NOT NULL,
	"group_size" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "identities_partner_id_identifier_type_identifier_value_pk" PRIMARY KEY("partner_id","identifier_type","identifier_value")
);
