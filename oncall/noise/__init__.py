"""Noise reduction: what keeps an alert from opening an incident or notifying (pipelines,
silences, inhibition), how alerts group (branches, strict grouping), and what marks an incident
noisy (storms, flapping). The merge (``oncall.merge``) calls into these modules at a few named
places; each module loads its channel's rules once per batch."""
