"""The parts of ``feedback.repo.Store``, one module per concern.

Each module holds one mixin over ``StoreBase`` (the engine, the clock and the transaction
plumbing in ``base``); ``feedback.repo`` assembles them into ``Store``. Import ``Store`` from
``feedback.repo``, not from here.

Nothing is imported here.
"""
