-- Who changed which setting, kept by a trigger.
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY,
    key text NOT NULL,
    old_value text,
    new_value text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL DEFAULT current_user
);
CREATE FUNCTION log_setting_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (key, old_value, new_value) VALUES (NEW.key, OLD.value, NEW.value);
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER app_settings_audit BEFORE UPDATE ON app_settings
    FOR EACH ROW EXECUTE FUNCTION log_setting_change();
