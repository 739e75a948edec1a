-- The trading engine: the density behind each signal (exits and the "density still exists"
-- check follow it by id), the decision taken on each signal with every check's result, and a
-- density's edges (stops go beyond the outermost level) and frozen flag (invalid book).

ALTER TABLE signals ADD COLUMN density_id {bigint} NOT NULL DEFAULT 0;

CREATE TABLE decisions (
    id {id},
    signal_id TEXT NOT NULL,
    ts {bigint} NOT NULL,
    outcome TEXT NOT NULL,
    qty {float} NOT NULL,
    checks {json} NOT NULL
);
CREATE INDEX decisions_signal_id ON decisions (signal_id);

ALTER TABLE densities ADD COLUMN price_low {float} NOT NULL DEFAULT 0;
ALTER TABLE densities ADD COLUMN price_high {float} NOT NULL DEFAULT 0;
ALTER TABLE densities ADD COLUMN frozen {bool} NOT NULL DEFAULT FALSE;
