"""The local Lambda: execution environments that run a function the way Lambda runs it.

- ``runtime``: one function's environments, started on demand, kept warm, one
  invocation at a time each, throttled past ``ReservedConcurrentExecutions``;
- ``environments``: one environment's process and the gateway's end of its channel;
- ``environment``: the variables an environment sees (Lambda's, the function's, no others);
- ``bootstrap``: the environment's own process (a script: it imports nothing of wsrelay);
- ``aws_hooks``: inside it, how every AWS call reaches the local stack;
- ``invoke_api``: Lambda's ``Invoke`` API on the gateway's port;
- ``wire``: the framing of the channel between the two.
"""
