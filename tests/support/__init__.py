"""What the tests share: one toolbox, imported as ``from support.<module> import …``.

pytest puts ``tests/`` on ``sys.path`` (``tests/`` has no ``__init__.py``, so its conftest's folder
is prepended), which makes this package importable from every test; the fixtures themselves stay
in ``tests/conftest.py``.

Module map:

- ``apps``            ``app_for``: the one way to build an App (the tests' signing secret, an injected
                      clock, the store migrated on request); ``SECRETS``.
- ``articles``        ``make_article``: the one article factory; ``store_articles`` (guid → id).
- ``config``          the tests' own config.toml (tests/data, never the repository's, which staff
                      edit): ``new_test_folder``; the one config.toml editor: ``set_keys`` (keys of
                      a [section]) and ``replace_once`` (a piece of text that must be there).
- ``delivery``        subscribers in the store, an edition with every placeholder, ``use_sendgrid``
                      (config.toml pointed at a local SendGrid) and ``due_now`` (a newsletter the next
                      `run-once` sends).
- ``digests``         ``digest_article`` (the factory's article with a digest's long summary and
                      images), subscribers and segment members; ``app_with``.
- ``subscribers``     tags in the store and subscriber CSV files.
- ``feeds``           store copies and file snapshots for the feeds tests.
- ``feedrules``       the W3C Feed Validation Service rules, checked locally.
- ``sendgrid_fake``   a local HTTP server speaking SendGrid's v3 mail-send API, schema-checked.
- ``webhook_signing`` signs Event Webhook requests the way SendGrid does.
- ``webserver``       an ASGI app served by uvicorn in a thread (``served``, ``web_app``), ``free_port``.
- ``serve``           the one way to run ``publisher serve`` in a subprocess: ``start_serve`` (a
                      ``Serving``: process, base URL, log file) and ``serving`` (a block that must
                      end cleanly); ``cli`` and the secrets both use.
- ``cli``             ``invoke_cli``: the CLI run in-process (exceptions not caught).
- ``waiting``         ``wait_for``: poll a condition with a deadline (the only waiting loop).
- ``paths``           ``ROOT`` (the repository: templates, docs; its config.toml only for
                      test_demo.py), ``DATA`` and ``HOSTILE`` (the tests' data files).
- ``delivery_worker`` a script the kill-and-resume test runs as a separate sender process.
"""
