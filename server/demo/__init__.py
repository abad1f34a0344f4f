"""``selfserve demo``: the demo merchant "Acme" seeded with a year of realistic billing history, the portal
server, and a small merchant app that sends its customers to the portal."""
