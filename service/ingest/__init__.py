"""Loading publishers' files (CSV, XLSX) into the database: readers, validation, staging, upserts, history."""
