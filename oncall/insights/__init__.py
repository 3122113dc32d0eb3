"""Insights: how a channel's on-call went over a period (incidents, noise, response times,
when incidents open, who carried the load), for the page, its CSV files and the API."""
