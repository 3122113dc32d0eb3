"""InfluxDB 2.x notification endpoints and 1.x Kapacitor post handlers; see README.md."""
