-- Theme suggestions (issue 16): a naive Bayes model learned from the desk's own tagging.
-- Each new case gets the model's suggestion for its first citizen message (the theme itself is
-- left to the agent).
ALTER TABLE cases ADD COLUMN suggested_theme TEXT;
ALTER TABLE cases ADD COLUMN suggested_theme_confidence REAL;

-- What each tagged case taught the model: its theme and its counted, hashed features (numbers,
-- not words), so a new tag can take the old one back and the held-out accuracy can be measured.
CREATE TABLE theme_examples (
    case_id     BLOB PRIMARY KEY NOT NULL,
    theme       TEXT NOT NULL,
    features    TEXT NOT NULL,
    tagged_at   INTEGER NOT NULL
);
CREATE INDEX theme_examples_tagged ON theme_examples (tagged_at, case_id);

-- The model: per theme its examples and feature total, and per (theme, feature) the count, kept
-- as the sum of theme_examples in the same transaction as the tag. The version moves with every
-- change, so each node reloads its cached model only when it changed.
CREATE TABLE theme_model_themes (
    theme       TEXT PRIMARY KEY NOT NULL,
    examples    INTEGER NOT NULL,
    total       INTEGER NOT NULL
);
CREATE TABLE theme_model_features (
    theme       TEXT NOT NULL,
    feature     INTEGER NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (theme, feature)
);
CREATE TABLE theme_model_version (
    id          INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version     INTEGER NOT NULL
);
INSERT INTO theme_model_version (id, version) VALUES (1, 0);
