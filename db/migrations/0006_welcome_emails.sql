CREATE TABLE "welcome_emails" (
	"member_id" text PRIMARY KEY NOT NULL,
	"message_id" text NOT NULL,
	"email" text NOT NULL,
	"subscriber_key" text NOT NULL,
	"outcome" text NOT NULL,
	"reason" text,
	"handled_at" timestamp with time zone NOT NULL
);
