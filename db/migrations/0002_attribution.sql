CREATE TABLE "attributed_checkouts" (
	"checkout_id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"product_id" text NOT NULL,
	"total_amount" numeric NOT NULL,
	"occurred_at" timestamp (3) with time zone NOT NULL,
	"payment_method" text,
	"shipping_address" text,
	"billing_address" text,
	"user_agent" text,
	"ip_address" text,
	"click_id" text,
	"clicked_at" timestamp (3) with time zone,
	"click_url" text,
	"username" text,
	"user_name" text,
	"user_email" text,
	"user_region" text,
	"user_gender" text,
	"user_version" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users_history" (
	"user_id" text NOT NULL,
	"username" text NOT NULL,
	"name" text,
	"email" text,
	"region" text,
	"gender" text,
	"updated_at" timestamp with time zone,
	"valid_from" timestamp with time zone NOT NULL,
	"valid_to" timestamp with time zone,
	CONSTRAINT "users_history_user_id_valid_from_pk" PRIMARY KEY("user_id","valid_from")
);
--> statement-breakpoint
CREATE TABLE "worker_offsets" (
	"worker" text NOT NULL,
	"topic" text NOT NULL,
	"partition" integer NOT NULL,
	"applied_offset" bigint NOT NULL,
	CONSTRAINT "worker_offsets_worker_topic_partition_pk" PRIMARY KEY("worker","topic","partition")
);
--> statement-breakpoint
CREATE INDEX "attributed_checkouts_user_time" ON "attributed_checkouts" USING btree ("user_id","occurred_at");--> statement-breakpoint
CREATE INDEX "attributed_checkouts_product_time" ON "attributed_checkouts" USING btree ("product_id","occurred_at");--> statement-breakpoint
CREATE INDEX "attributed_checkouts_time" ON "attributed_checkouts" USING btree ("occurred_at");