"""DynamoDB for a local gateway's functions: moto's, served on the gateway's own loop.

================  ===========================================================================
``embedded``      moto's WSGI applications served by the gateway's asyncio loop, and in-process
``moto_adapter``  the one way in to moto's internals: version gate, canary, opt-in speed-ups
``motofast``      faster, equivalence-tested paths through moto's DynamoDB (inert unless opted in)
================  ===========================================================================
"""
