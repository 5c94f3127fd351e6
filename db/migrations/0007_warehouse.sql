CREATE SCHEMA "warehouse";
--> statement-breakpoint
CREATE TABLE "warehouse"."export_offsets" (
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"next_offset" bigint NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "export_offsets_topic_partition_pk" PRIMARY KEY("topic","partition")
);
