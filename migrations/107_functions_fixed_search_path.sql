-- 107: every function has a fixed search_path. normalize_email() had none, so it resolved
-- lower(), btrim(), regexp_replace() and the rest through the caller's search_path: a role that
-- can create objects in a schema earlier on that path could make the function (and with it
-- contacts.email_normalized, a generated column) call its own code. It uses built-ins only, so
-- pg_catalog is all it needs; pg_temp goes last so temporary objects can never shadow anything.
ALTER FUNCTION normalize_email(text) SET search_path = pg_catalog, pg_temp;
