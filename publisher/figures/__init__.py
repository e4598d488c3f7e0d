"""How each edition did: aggregate figures for staff, nothing per reader (docs/figures.md).

Module map:

- ``outcomes``: which edition figure an Event Webhook event moves (delivered, bounced…);
- ``report``: the figures of editions as ``publisher stats`` and /admin/ show them.
"""
