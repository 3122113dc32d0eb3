"""The console's own JSON protocol ("standard alert event"); see README.md."""
