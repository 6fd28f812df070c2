"""PostgreSQL-specific plumbing: RLS context switching and schema hardening."""
