-- A client's current treatment is their latest row: found by this index in one step. Without it PostgreSQL read
-- the primary key backwards for every candidate treatment of the care timeline (100,000 clients took minutes).
CREATE INDEX treatments_client_id ON treatments (client_id, id);
