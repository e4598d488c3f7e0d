"""Subscribers: who they are, what they agreed to, who receives what.

Module map:

- ``status``: the lifecycle, in one place: the statuses, who may be mailed, which status
  changes are allowed and from which source.
- ``lifecycle``: sign-up, confirmation, unsubscribing, suppression by the mail provider,
  preferences, the signed links' landing (confirm, unsubscribe, preferences), purge of
  unconfirmed sign-ups, GDPR access (``show``) and erasure (``forget``).
- ``forget_list``: the keyed hashes that keep a forgotten address from coming back.
- ``csv_import``: the CSV import and its rules, in three steps: ``csv_read`` (bytes to checked
  rows), ``csv_plan`` (rows to new, changed and refused), ``csv_merge`` (the plan into the
  store); ``csv_speed`` holds the speed tuning (the child process that reads while the parent
  writes, fewer collections).
- ``export``: CSV and JSON Lines export; ``spreadsheet`` neutralises the cells a spreadsheet
  would run as formulas (and the import restores them).
- ``segments``: the segments of config.toml compiled to SQL, counted and streamed.
- ``subscription_mail``: the confirmation and "already subscribed" messages.

Used by subscribers and by other packages, and so kept outside: ``publisher.addresses`` (the
address policy: also the config's sender addresses and the delivery's last check) and
``publisher.tokens`` (signed links: also the archive's). ``publisher.signup_queue`` sends the
sign-up mails through a transport, so it sits above both this package and ``delivery``.
"""
