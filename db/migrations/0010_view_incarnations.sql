CREATE TABLE "worker_stores" (
	"worker" text PRIMARY KEY NOT NULL,
	"store_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "worker_offsets" ADD COLUMN "incarnation" text;