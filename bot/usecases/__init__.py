"""What supportbot does for the people who use it, one plain function per use case.

Each takes the `Runtime` first; the CLI calls them directly, Telegram handlers through the worker
(`await worker.run(usecase, ...)`). Channels only translate between their world and these calls;
admin use cases are authorised and audited here, once (see `access.audited`).
"""
