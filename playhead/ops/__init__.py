"""Operations: what runs beside the request paths (periodic jobs now; metrics, health and
retention plug in here)."""
