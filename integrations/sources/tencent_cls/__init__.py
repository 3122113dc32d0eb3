"""Tencent Cloud Log Service (CLS) alarm policies' custom callback; see README.md."""
