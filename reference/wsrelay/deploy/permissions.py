"""What the person who deploys needs: a least-privilege IAM policy for deploy, status, destroy.

``deployer_policy_document(location, names)`` allows exactly the API actions that
``wsrelay deploy``, ``wsrelay status`` and ``wsrelay destroy`` call for one stack
(``tests/test_deploy_permissions.py`` records every call they make against moto and finds
each one here), each on that stack's own resources where the service can name them:

- the table, role, function and log group by their ``{stack}-{stage}-…`` names;
- ``iam:PassRole`` on the stack's role only, and only to Lambda (``iam:PassedToService``);
- the tag actions that creating a tagged resource also needs (``dynamodb:TagResource``,
  ``iam:TagRole``, ``lambda:TagResource``, ``logs:TagResource``);
- API Gateway by its paths (``apigateway:GET|POST|PATCH|DELETE`` on ``/apis`` and ``/apis/*``,
  and ``/tags/*`` for the API's tags): an API's id is not known before it exists, so these
  cover every API of the account and Region; that is why ``status`` and ``destroy`` act only
  on APIs carrying the stack's tags;
- ``logs:DescribeLogGroups`` on ``log-group:*``, which AWS authorizes on every log group.

``sts:GetCallerIdentity`` needs no permission. moto does not enforce IAM, so the document is
proven against the calls, not against AWS: try it in a sandbox account first.
(https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html)
"""

from __future__ import annotations

from typing import Any

from wsrelay.deploy.stack import Location, StackNames

__all__ = ["DEPLOYER_ACTIONS", "deployer_policy_document", "iam_actions_for"]

#: Statement id → the IAM actions it allows.
DEPLOYER_ACTIONS: dict[str, tuple[str, ...]] = {
    "Table": (
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:ListTagsOfResource",
        "dynamodb:TagResource",
        "dynamodb:UpdateTimeToLive",
    ),
    "LogGroup": (
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:ListTagsForResource",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
    ),
    "FindLogGroups": ("logs:DescribeLogGroups",),
    "Role": (
        "iam:CreateRole",
        "iam:DeleteRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
        "iam:PutRolePolicy",
        "iam:TagRole",
    ),
    "PassRoleToLambda": ("iam:PassRole",),
    "Function": (
        "lambda:AddPermission",
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:GetFunction",
        "lambda:GetPolicy",
        "lambda:ListTags",
        "lambda:PutFunctionConcurrency",
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:RemovePermission",
        "lambda:TagResource",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
    ),
    # PATCH: UpdateApi, UpdateRoute and UpdateStage, which put back what drifted.
    "WebSocketApis": (
        "apigateway:DELETE",
        "apigateway:GET",
        "apigateway:PATCH",
        "apigateway:POST",
    ),
}

#: The services whose IAM actions are the operation's name (``dynamodb:CreateTable``).
_NAMED_ACTIONS = {"dynamodb", "iam", "lambda", "logs"}


def iam_actions_for(service: str, operation: str, http_method: str) -> list[str]:
    """The IAM actions one API call needs (``[]`` for none).

    Args:
        service: botocore's service name (``dynamodb``, ``apigatewayv2`` …).
        operation: the operation's name (``CreateTable``).
        http_method: its HTTP method, which is the action for API Gateway
            (``apigateway:POST``).
    """
    if service == "sts" and operation == "GetCallerIdentity":
        return []
    if service == "apigatewayv2":
        return [f"apigateway:{http_method}"]
    if service in _NAMED_ACTIONS:
        return [f"{service}:{operation}"]
    raise ValueError(f"no IAM mapping for {service}:{operation}")


def deployer_policy_document(location: Location, names: StackNames) -> dict[str, Any]:
    """The IAM policy a person needs to deploy, check and destroy the stack ``names``."""
    apigateway = f"arn:{location.partition}:apigateway:{location.region}::"
    role_arn = f"arn:{location.partition}:iam::{location.account}:role/{names.role}"
    resources: dict[str, Any] = {
        "Table": location.table_arn(names),
        "LogGroup": [
            f"{location.log_group_arn(names)}:*",
            f"{location.log_group_arn(names, names.fanout_log_group)}:*",
        ],
        "FindLogGroups": location._arn("logs", "log-group:*"),
        "Role": role_arn,
        "PassRoleToLambda": role_arn,
        "Function": [location.function_arn(names), location.fanout_function_arn(names)],
        "WebSocketApis": [f"{apigateway}/apis", f"{apigateway}/apis/*", f"{apigateway}/tags/*"],
    }
    statements = []
    for sid, actions in DEPLOYER_ACTIONS.items():
        statement: dict[str, Any] = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": list(actions),
            "Resource": resources[sid],
        }
        if sid == "PassRoleToLambda":
            statement["Condition"] = {
                "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
            }
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}
