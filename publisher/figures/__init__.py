"""How each edition did: aggregate figures for staff, nothing per reader (docs/figures.md).

Module map:

- ``outcomes``: which edition figure an Event Webhook event moves (delivered, bounced…);
- ``clicks``: the signed click links, the scanner heuristic, counting a click;
- ``report``: the figures of editions as ``publisher stats`` and /admin/ show them;
- ``readers``: readers over time, week by week and by consent source;
- ``text``: French labels, terminal lines and CSV; ``charts``: SVG charts; ``pages``: what
  the admin's figures pages show.
"""
