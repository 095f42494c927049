"""Deploy the chat to AWS, or tear it down: packaging, a CloudFormation template, boto3.

====================  ========================================================================
``stack``             the stack as data: names, tags, table schema, routes, IAM actions, ARNs
``package``           the Lambda zip: ``wsrelay.handlers`` and what it imports, reproducibly
``aws``               clients, ``DeployError`` and finding the stack's resources by name and tag
``deployer``          ``deploy``: create or update each resource, idempotently
``teardown``          ``destroy`` and ``status``
``cli``               ``wsrelay deploy | destroy | status``
``template.yaml``     the same stack for CloudFormation (``wsrelay deploy --template``)
====================  ========================================================================

This ``__init__`` imports nothing, so ``wsrelay``'s parser can load ``wsrelay.deploy.cli``
without importing boto3.
"""

from __future__ import annotations

__all__: list[str] = []
