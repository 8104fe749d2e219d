"""The domain, with no network I/O and no Qt: everything the app, the relay and the CLI share.

An import-linter contract (``pyproject.toml``) keeps it from importing the clients, the relay,
the sandbox, the ui, httpx, Starlette or PySide6, so it runs and is tested anywhere.

Module map:

* Events and templates: ``events`` (the seven templates and the Commerce events they track),
  ``templates`` (built-in defaults and the user's overrides), ``samples`` (the built-in sample
  events).
* Input: ``envelope`` (a webhook body → :class:`CommerceEvent`, the template's input),
  ``cloudevent`` (an SQS message's CloudEvent → the webhook's shape).
* Rendering: ``render`` (:class:`Renderer`: a template on an event → finished Segment calls),
  ``engine`` (jlens and jsonata-python behind one interface), ``jsonata_limits`` (time and size
  bounds on a run), ``messages`` (``messageId``, ``timestamp``, ``context.library``), ``money``
  (minor units → exact decimals).
* Segment's rules: ``spec`` (:func:`check_call`: what Segment refuses or warns about, sizes),
  ``tracking_plan`` (a Segment tracking plan's JSON Schema rules, checked on each call).
* Trusting a template: ``template_tests`` (saved test cases: an event and the calls expected),
  ``template_history`` (earlier versions of each template), ``webhook_trigger`` (a webhook body
  built on purpose, with overrides, for ``trigger``).
* Delivery: ``delivery`` (where Commerce delivers, webhook or SQS queue, and the secrets each
  needs).
* Settings: ``config`` (typed, versioned :class:`Config` and :class:`ConfigStore`),
  ``config_file`` (bounded reads, atomic writes), ``config_reader`` (untrusted JSON → checked
  settings), ``config_changes`` (what an import would change, in words).
* Secrets and logs: ``secrets`` (the OS keyring, the only module importing ``keyring``),
  ``logs`` (a rotating file through a redactor).
* The setup: ``flow`` (:class:`SetupFlow`, the wizard's pages, draft and Finish as a plain
  object).
* The editor's helpers: ``completion``, ``jsonata_paths`` (paths and variables read from the
  text), ``jsonata_scan`` (strings, comments and brackets), ``expression_values`` (the value of
  a selection), ``jsonata_reference`` (the function table).
* Small pieces: ``errors`` (our error tree), ``jsontext`` (JSON text, orjson when installed),
  ``jsontypes`` (naming JSON types in messages).
"""
