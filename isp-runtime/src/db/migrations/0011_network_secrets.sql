-- Network secrets in the tenant's OpenBao when the instance has it.
--
-- A NAS's shared secret moves to OpenBao KV (`instance/nas/<id>`): its column becomes
-- optional, empty for a secret kept there. Written the same way on both databases (SQLite
-- cannot drop a NOT NULL in place).
ALTER TABLE nas ADD COLUMN secret_in_database TEXT;
UPDATE nas SET secret_in_database = secret;
ALTER TABLE nas DROP COLUMN secret;
ALTER TABLE nas RENAME COLUMN secret_in_database TO secret;

-- A PPPoE password encrypted with the tenant's transit key (`vault:v1:…`); `password` then
-- stays empty. CHAP needs the cleartext, so it is sealed rather than hashed.
ALTER TABLE service_logins ADD COLUMN sealed_password TEXT;
