-- Risk alerts reach a person (issue 11): a notification the owners must see is also sent to each of
-- them by direct message. Each destination is its own outbox row (channel 'dm:<user id>'), made by the
-- notifier from the channel message before that is posted (parent_id, dedupe key 'dm-<parent>-<user>'),
-- so a crash between the channel post and the DMs neither loses a DM nor posts the channel message again:
-- every row is claimed, retried and marked on its own, with its own nonce.
--
-- 'refused': a direct message Discord will never take (the owner's DMs are closed to the bot, 50007).
-- It is not retried; the channel is told once.
ALTER TABLE notification_outbox ADD COLUMN parent_id bigint REFERENCES notification_outbox (id);
ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_status_check;
ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_status_check
    CHECK (status IN ('pending', 'sent', 'failed', 'refused'));
