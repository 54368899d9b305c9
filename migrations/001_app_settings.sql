-- The demo app's settings (run ha-migrate applies each file of migrations/ once).
CREATE TABLE app_settings (
    key text PRIMARY KEY,
    value text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO app_settings (key, value) VALUES ('maintenance', 'off'), ('theme', 'light');
