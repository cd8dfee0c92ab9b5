"""The IAM evaluator against AWS's documented evaluation cases, one test per rule, each citing
the documentation page (IAM User Guide unless another guide is named) whose example it replays."""

from __future__ import annotations

from typing import Any

import pytest

from proofs.iam import (
    FULL_AWS_ACCESS,
    Decision,
    GrantScope,
    Layer,
    Policy,
    PolicyError,
    Principal,
    PrincipalKind,
    Request,
    ResourcePolicy,
    ResourcePolicyKind,
    ScpLevel,
    ServiceControlPolicies,
    applicable_statements,
    canonical_aws_principal,
    could_allow,
    evaluate,
    principal_account,
    principal_context,
)

ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"
MANAGEMENT = "999999999999"
ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT_A}:role/app", session_name="app-session")
OTHER_ROLE = Principal.role(f"arn:aws:iam::{ACCOUNT_B}:role/consumer")
CARLOS = Principal.user("arn:aws:iam::123456789012:user/carlossalazar")


def document(*statements: dict[str, Any], version: str | None = "2012-10-17") -> dict[str, Any]:
    return {"Statement": list(statements)} | ({"Version": version} if version else {})


def allow(action: str | list[str], resource: str | list[str] = "*", **elements: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **elements}


def deny(action: str | list[str], resource: str | list[str] = "*", **elements: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **elements}


def policy(name: str, *statements: dict[str, Any]) -> Policy:
    return Policy(name, document(*statements))


def resource_policy(name: str, *statements: dict[str, Any], kind=ResourcePolicyKind.RESOURCE_BASED) -> ResourcePolicy:
    return ResourcePolicy(name, document(*statements), kind)


ADMIN = policy("admin", allow("*"))


def request(action: str, resource: str = "*", principal: Principal = ROLE, **context: Any) -> Request:
    return Request(action, resource, principal, {**principal_context(principal), **context})


def decide(action: str, resource: str = "*", principal: Principal = ROLE, **evaluation: Any) -> Decision:
    context = evaluation.pop("context", {})
    return evaluate(request(action, resource, principal, **context), **evaluation)


def sids(references) -> list[str | None]:
    return [reference.sid for reference in references]


def holds(condition: dict[str, Any], **context: Any) -> bool:
    """Whether an Allow with `condition` applies to a request carrying `context`."""
    guarded = policy("guarded", allow("s3:GetObject", Condition=condition))
    return decide("s3:GetObject", context=context, identity_policies=[guarded]).allowed


class TestPolicyEvaluationLogic:
    CARLOS_POLICY = policy(
        "carlos",
        {
            "Sid": "AllowS3ListRead",
            **allow(
                [
                    "s3:GetBucketLocation",
                    "s3:GetAccountPublicAccessBlock",
                    "s3:ListAccessPoints",
                    "s3:ListAllMyBuckets",
                ],
                "arn:aws:s3:::*",
            ),
        },
        {"Sid": "AllowS3Self", **allow("s3:*", ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"])},
        {"Sid": "DenyS3Logs", **deny("s3:*", "arn:aws:s3:::*log*")},
    )
    CARLOS_BUCKET = resource_policy(
        "carlossalazar bucket",
        allow(
            "s3:*",
            ["arn:aws:s3:::carlossalazar/*", "arn:aws:s3:::carlossalazar"],
            Principal={"AWS": "arn:aws:iam::123456789012:user/carlossalazar"},
        ),
    )

    def carlos_puts(self, bucket: str) -> Decision:
        return decide(
            "s3:PutObject",
            f"arn:aws:s3:::{bucket}/file.txt",
            CARLOS,
            identity_policies=[self.CARLOS_POLICY],
            resource_policy=self.CARLOS_BUCKET,
            resource_account="123456789012",
        )

    def test_explicit_deny_overrides_allow(self):
        """Per "Policy evaluation for requests within a single account", Carlos's example: his own
        policy allows s3:*, yet DenyS3Logs explicitly denies the logs bucket."""
        decision = self.carlos_puts("carlossalazar-logs")
        assert not decision.allowed
        assert sids(decision.explicit_denies) == ["DenyS3Logs"]
        assert "identity-based policy 'carlos' statement 'DenyS3Logs'" in str(decision)

    def test_identity_and_resource_policy_both_allow(self):
        """Same example: in his own bucket both policies allow, and the decision cites both."""
        decision = self.carlos_puts("carlossalazar")
        assert decision.allowed, decision.explain()
        assert [str(ref) for ref in decision.allows] == [
            "identity-based policy 'carlos' statement 'AllowS3Self'",
            "resource-based policy 'carlossalazar bucket' statement #0",
        ]

    def test_implicit_deny_by_default(self):
        """Per "How AWS enforcement code logic evaluates requests": by default all requests are
        implicitly denied."""
        decision = decide("s3:GetObject", "arn:aws:s3:::bucket/key", resource_account=ACCOUNT_A)
        assert not decision.allowed
        assert not decision.explicit_denies
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.IDENTITY]

    @pytest.mark.parametrize(
        "action,allowed,explicitly_denied",
        [
            ("iam:GetUser", True, False),
            ("iam:ListRoles", True, False),
            ("iam:CreatePolicy", False, False),
            ("iam:GetOrganizationsAccessReport", False, True),
        ],
    )
    def test_explicit_and_implicit_denies_differ(self, action, allowed, explicitly_denied):
        """Per "The difference between explicit and implicit denies": AllowGetList allows Get* and
        List*, everything else is implicitly denied, and DenyReports explicitly denies *Report."""
        get_list = policy(
            "get-list",
            {"Sid": "AllowGetList", **allow(["iam:Get*", "iam:List*"])},
            {"Sid": "DenyReports", **deny("iam:*Report")},
        )
        decision = decide(action, identity_policies=[get_list])
        assert decision.allowed is allowed
        assert bool(decision.explicit_denies) is explicitly_denied

    def test_explain_lists_every_reason_on_its_own_line(self):
        """The proofs print decisions: each reason must name its layer, policy and statement."""
        decision = self.carlos_puts("carlossalazar-logs")
        assert decision.explain().splitlines() == [
            str(decision),
            "  explicit deny: identity-based policy 'carlos' statement 'DenyS3Logs'",
        ]


class TestActionsAndResources:
    @pytest.mark.parametrize("written", ["iam:ListAccessKeys", "IAM:listaccesskeys", "Iam:LISTACCESSKEYS"])
    def test_action_prefix_and_name_are_case_insensitive(self, written):
        """Per "IAM JSON policy elements: Action": iam:ListAccessKeys is the same as IAM:listaccesskeys."""
        assert decide("iam:ListAccessKeys", identity_policies=[policy("p", allow(written))]).allowed

    @pytest.mark.parametrize(
        "action,allowed",
        [
            ("iam:CreateAccessKey", True),
            ("iam:ListAccessKeys", True),
            ("iam:UpdateAccessKey", True),
            ("iam:GetUser", False),
            ("s3:GetObject", True),
            ("s3:GetObjects", False),
        ],
    )
    def test_action_wildcards(self, action, allowed):
        """Per "Action": `iam:*AccessKey*` names every action containing AccessKey; `?` is one character."""
        wildcards = policy("p", allow(["iam:*AccessKey*", "s3:Get?bject"]))
        assert decide(action, identity_policies=[wildcards]).allowed is allowed

    @pytest.mark.parametrize(
        "key,matches",
        [
            ("1/test/object.jpg", True),
            ("1/2/test/object.jpg", True),
            ("1/2/test/3/object.jpg", True),
            ("1/2/3/test/4/object.jpg", True),
            ("1///test///object.jpg", True),
            ("1/test/.jpg", True),
            ("/test/object.jpg", True),
            ("1/test/", True),
            ("1-test/object.jpg", False),
            ("test/object.jpg", False),
            ("1/2/test.jpg", False),
        ],
    )
    def test_resource_wildcards_expand_across_slashes(self, key, matches):
        """Per "IAM JSON policy elements: Resource", Using wildcards in resource ARNs: the doc's list
        of objects `DOC-EXAMPLE-BUCKET/*/test/*` does and does not name."""
        scoped = policy("p", allow("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*"))
        decision = decide(
            "s3:GetObject",
            f"arn:aws:s3:::DOC-EXAMPLE-BUCKET/{key}",
            identity_policies=[scoped],
            resource_account=ACCOUNT_A,
        )
        assert decision.allowed is matches

    def test_resource_matching_is_case_sensitive(self):
        """Per "Resource": ARNs compare case-sensitively (only action names ignore case)."""
        scoped = policy("p", allow("s3:GetObject", "arn:aws:s3:::reports/*"))
        upper = decide("s3:GetObject", "arn:aws:s3:::Reports/a", identity_policies=[scoped], resource_account=ACCOUNT_A)
        lower = decide("s3:GetObject", "arn:aws:s3:::reports/a", identity_policies=[scoped], resource_account=ACCOUNT_A)
        assert (upper.allowed, lower.allowed) == (False, True)

    def test_a_star_ending_a_segment_matches_beyond_colons(self):
        """Per "Resource": "If the * wildcard is the last character of a resource ARN segment, it can
        expand to match beyond the colon boundaries"."""
        groups = policy("p", allow("logs:PutLogEvents", f"arn:aws:logs:eu-west-1:{ACCOUNT_A}:log-group:*"))
        stream = f"arn:aws:logs:eu-west-1:{ACCOUNT_A}:log-group:/app:log-stream:web-1"
        assert decide("logs:PutLogEvents", stream, identity_policies=[groups]).allowed

    @pytest.mark.parametrize(
        "action,resource,allowed",
        [
            ("s3:PutObject", "arn:aws:s3:::bucket/key", True),
            ("s3:DeleteBucket", "arn:aws:s3:::bucket", False),
            ("s3:ListAllMyBuckets", "*", False),
            ("ec2:StartInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT_A}:instance/i-1", False),
        ],
    )
    def test_not_action_with_allow_grants_the_rest_on_the_listed_resources(self, action, resource, allowed):
        """Per "IAM JSON policy elements: NotAction", NotAction with Allow: every S3 action except
        DeleteBucket on S3 resources; not ListAllMyBuckets (resource "*"), nor other services."""
        everything_but = policy("p", {"Effect": "Allow", "NotAction": "s3:DeleteBucket", "Resource": "arn:aws:s3:::*"})
        decision = decide(action, resource, identity_policies=[everything_but], resource_account=ACCOUNT_A)
        assert decision.allowed is allowed

    @pytest.mark.parametrize(
        "action,context,denied",
        [
            ("ec2:StartInstances", {}, True),
            ("ec2:StartInstances", {"aws:MultiFactorAuthPresent": False}, True),
            ("ec2:StartInstances", {"aws:MultiFactorAuthPresent": True}, False),
            ("iam:ListUsers", {}, False),
        ],
    )
    def test_deny_with_not_action_denies_every_unlisted_action(self, action, context, denied):
        """Per "NotAction", NotAction with Deny: DenyAllUsersNotUsingMFA denies every non-IAM action
        unless the user signed in with MFA (BoolIfExists: an absent key counts as not signed in)."""
        mfa = policy(
            "mfa",
            {
                "Sid": "DenyAllUsersNotUsingMFA",
                "Effect": "Deny",
                "NotAction": "iam:*",
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        )
        decision = decide(action, context=context, identity_policies=[ADMIN, mfa])
        assert sids(decision.explicit_denies) == (["DenyAllUsersNotUsingMFA"] if denied else [])
        assert decision.allowed is not denied

    @pytest.mark.parametrize(
        "action,resource,denied",
        [
            ("s3:GetObject", "arn:aws:s3:::HRBucket/Payroll/2024.csv", False),
            ("s3:ListBucket", "arn:aws:s3:::HRBucket/Payroll", False),
            ("s3:GetObject", "arn:aws:s3:::HRBucket/Reviews/2024.csv", True),
            ("s3:GetObject", "arn:aws:s3:::OtherBucket/x", True),
            ("ec2:StartInstances", f"arn:aws:ec2:eu-west-1:{ACCOUNT_A}:instance/i-1", False),
        ],
    )
    def test_deny_with_not_resource_denies_everything_but_the_listed_resources(self, action, resource, denied):
        """Per "IAM JSON policy elements: NotResource": HRPayroll members are denied every S3
        resource except the Payroll folder; the statement names only S3 actions."""
        payroll = policy(
            "payroll",
            {
                "Effect": "Deny",
                "Action": "s3:*",
                "NotResource": ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
            },
        )
        decision = decide(action, resource, identity_policies=[ADMIN, payroll], resource_account=ACCOUNT_A)
        assert bool(decision.explicit_denies) is denied


ABSENT = object()


class TestConditionOperators:
    @pytest.mark.parametrize(
        "operator,expected,actual,result",
        [
            ("StringEquals", "johndoe", "johndoe", True),
            ("StringEquals", "johndoe", "JohnDoe", False),
            ("StringEquals", "johndoe", ABSENT, False),
            ("StringEquals", "a*", "abc", False),
            ("StringEquals", "a*", "a*", True),
            ("StringNotEquals", "johndoe", "janedoe", True),
            ("StringNotEquals", "johndoe", "johndoe", False),
            ("StringNotEquals", "johndoe", ABSENT, True),
            ("StringEqualsIgnoreCase", "johndoe", "JohnDoe", True),
            ("StringEqualsIgnoreCase", "johndoe", ABSENT, False),
            ("StringNotEqualsIgnoreCase", "johndoe", "JOHNDOE", False),
            ("StringNotEqualsIgnoreCase", "johndoe", "janedoe", True),
            ("StringNotEqualsIgnoreCase", "johndoe", ABSENT, True),
            ("StringLike", "home/*/docs?", "home/a/b/docs1", True),
            ("StringLike", "home/*/docs?", "home/docs1", False),
            ("StringLike", "home/*/docs?", "Home/a/docs1", False),
            ("StringLike", "home/*", ABSENT, False),
            ("StringNotLike", "key1*", "key2", True),
            ("StringNotLike", "key1*", "key1-x", False),
            ("StringNotLike", "key1*", ABSENT, True),
        ],
    )
    def test_string_operators(self, operator, expected, actual, result):
        """Per "IAM JSON policy elements: Condition operators", String condition operators, and the
        rule for absent keys: positive operators do not match, negated ones do."""
        context = {} if actual is ABSENT else {"aws:username": actual}
        assert holds({operator: {"aws:username": expected}}, **context) is result

    @pytest.mark.parametrize(
        "operator,actual,result",
        [
            ("NumericLessThanEquals", "10", True),
            ("NumericLessThanEquals", 11, False),
            ("NumericLessThanEquals", ABSENT, False),
            ("NumericLessThan", 9.5, True),
            ("NumericEquals", "10.0", True),
            ("NumericNotEquals", 10, False),
            ("NumericNotEquals", 3, True),
            ("NumericNotEquals", ABSENT, True),
            ("NumericGreaterThan", 11, True),
            ("NumericGreaterThanEquals", 10, True),
            ("NumericGreaterThanEquals", 9, False),
        ],
    )
    def test_numeric_operators(self, operator, actual, result):
        """Per "Condition operators", Numeric: the s3:max-keys example, up to 10 objects at a time."""
        context = {} if actual is ABSENT else {"s3:max-keys": actual}
        assert holds({operator: {"s3:max-keys": "10"}}, **context) is result

    @pytest.mark.parametrize(
        "operator,expected,actual,result",
        [
            ("DateGreaterThan", "2020-01-01T00:00:01Z", "2020-06-01T00:00:00Z", True),
            ("DateGreaterThan", "2020-01-01T00:00:01Z", "2019-12-31T23:59:59Z", False),
            ("DateGreaterThan", "2020-01-01T00:00:01Z", "1609459200", True),
            ("DateGreaterThan", "2020-01-01T00:00:01Z", ABSENT, False),
            ("DateLessThan", "1577836800", "2019-12-31T23:59:59Z", True),
            ("DateEquals", "2020-01-01", "2020-01-01T00:00:00+00:00", True),
            ("DateLessThanEquals", "2020-01", "2020-01-01T00:00:00Z", True),
            ("DateGreaterThanEquals", "2020", "2019-12-31T23:59:59Z", False),
            ("DateNotEquals", "2020-01-01T00:00:00Z", "2020-01-01T01:00:00+01:00", False),
            ("DateNotEquals", "2020-01-01T00:00:00Z", ABSENT, True),
        ],
    )
    def test_date_operators(self, operator, expected, actual, result):
        """Per "Condition operators", Date: W3C ISO 8601 dates or epoch time (the
        aws:TokenIssueTime example); time zones are compared as instants."""
        context = {} if actual is ABSENT else {"aws:TokenIssueTime": actual}
        assert holds({operator: {"aws:TokenIssueTime": expected}}, **context) is result

    @pytest.mark.parametrize(
        "operator,actual,result",
        [
            ("Bool", False, True),
            ("Bool", "False", True),
            ("Bool", True, False),
            ("Bool", ABSENT, False),
            ("BoolIfExists", ABSENT, True),
            ("BoolIfExists", True, False),
        ],
    )
    def test_bool_operator(self, operator, actual, result):
        """Per "Condition operators", Boolean: the aws:SecureTransport "false" example."""
        context = {} if actual is ABSENT else {"aws:SecureTransport": actual}
        assert holds({operator: {"aws:SecureTransport": "false"}}, **context) is result

    @pytest.mark.parametrize(
        "operator,ranges,actual,result",
        [
            ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
            ("IpAddress", "203.0.113.0/24", "198.51.100.7", False),
            ("IpAddress", ["203.0.113.0/24", "2001:DB8:1234:5678::/64"], "2001:db8:1234:5678::1", True),
            ("IpAddress", "203.0.113.7", "203.0.113.8", False),
            ("IpAddress", "203.0.113.0/24", ABSENT, False),
            ("NotIpAddress", "203.0.113.0/24", "203.0.113.7", False),
            ("NotIpAddress", "203.0.113.0/24", "198.51.100.7", True),
            ("NotIpAddress", "203.0.113.0/24", ABSENT, True),
        ],
    )
    def test_ip_address_operators(self, operator, ranges, actual, result):
        """Per "Condition operators", IP address: CIDR ranges, IPv4 and IPv6, /32 by default."""
        context = {} if actual is ABSENT else {"aws:SourceIp": actual}
        assert holds({operator: {"aws:SourceIp": ranges}}, **context) is result

    def test_arn_operators_match_each_component_separately(self):
        """Per "Condition operators", ARN: StringLike matches the doc's value, ArnLike does not,
        because its first `*` matches only within the region component."""
        pattern = "arn:aws:someservice:*:111122223333:finance/*"
        value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
        assert holds({"StringLike": {"aws:SourceArn": pattern}}, **{"aws:SourceArn": value})
        assert not holds({"ArnLike": {"aws:SourceArn": pattern}}, **{"aws:SourceArn": value})
        assert not holds({"ArnEquals": {"aws:SourceArn": pattern}}, **{"aws:SourceArn": value})

    @pytest.mark.parametrize(
        "operator,pattern,actual,result",
        [
            ("ArnEquals", "arn:aws:sns:*:111122223333:topic-?", "arn:aws:sns:eu-west-1:111122223333:topic-1", True),
            ("ArnLike", "arn:aws:logs:*:*:log-group:/x:*", "arn:aws:logs:eu-west-1:1:log-group:/x:log-stream:y", True),
            ("ArnLike", "arn:aws:sns:*:111122223333:*", "not-an-arn", False),
            ("ArnNotEquals", "arn:aws:iam::*:role/deployer", "arn:aws:iam::111122223333:role/deployer", False),
            ("ArnNotLike", "arn:aws:iam::*:role/deploy-*", "arn:aws:iam::111122223333:role/other", True),
            ("ArnNotLike", "arn:aws:iam::*:role/deploy-*", ABSENT, True),
            ("ArnLike", "arn:aws:iam::*:role/deploy-*", ABSENT, False),
        ],
    )
    def test_arn_operators(self, operator, pattern, actual, result):
        """Per "Condition operators", ARN: Equals and Like behave identically, the resource
        component may hold colons, and the negated forms match an absent key."""
        context = {} if actual is ABSENT else {"aws:SourceArn": actual}
        assert holds({operator: {"aws:SourceArn": pattern}}, **context) is result

    def test_arn_operators_take_policy_variables(self):
        """Per "Condition operators": "You can use a policy variable with the ARN condition
        operator"; the substituted ARN is split into components like a written one."""
        assert holds({"ArnEquals": {"aws:SourceArn": "${aws:PrincipalArn}"}}, **{"aws:SourceArn": ROLE.arn})
        assert not holds({"ArnEquals": {"aws:SourceArn": "${aws:PrincipalArn}"}}, **{"aws:SourceArn": OTHER_ROLE.arn})

    def test_arn_operators_need_six_component_arns(self):
        """Per "Condition operators", ARN: "Each of the six colon-delimited components of the ARN
        is checked separately", so a pattern of fewer components matches no ARN (StringLike
        would), and a value that is not an ARN matches no pattern."""
        value = {"aws:SourceArn": f"arn:aws:sns:eu-west-1:{ACCOUNT_A}:topic"}
        assert holds({"StringLike": {"aws:SourceArn": "arn:aws:sns:*"}}, **value)
        assert not holds({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*"}}, **value)
        assert not holds({"ArnLike": {"aws:SourceArn": "*"}}, **{"aws:SourceArn": "topic"})

    @pytest.mark.parametrize(
        "expected,actual,result",
        [
            ("true", ABSENT, True),
            ("true", "2024-01-01T00:00:00Z", False),
            ("false", "2024-01-01T00:00:00Z", True),
            ("false", ABSENT, False),
            (True, [], True),
        ],
    )
    def test_null_checks_whether_the_key_is_present(self, expected, actual, result):
        """Per "Condition operators", Null: true means the key is absent, false that it is present."""
        context = {} if actual is ABSENT else {"aws:TokenIssueTime": actual}
        assert holds({"Null": {"aws:TokenIssueTime": expected}}, **context) is result

    @pytest.mark.parametrize("instance_type,result", [(ABSENT, True), ("t2.micro", True), ("c5.large", False)])
    def test_if_exists_holds_when_the_key_is_absent(self, instance_type, result):
        """Per "Condition operators", ...IfExists: the RunInstance example allows t1, t2 and m3 types
        and every resource that has no ec2:InstanceType key."""
        condition = {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}}
        context = {} if instance_type is ABSENT else {"ec2:InstanceType": instance_type}
        assert holds(condition, **context) is result

    def test_deny_with_negated_if_exists_still_denies_when_the_key_is_missing(self):
        """Per "Condition operators", ...IfExists: "If you are using an Effect: Deny element with a
        negated condition operator like StringNotEqualsIfExists, the request is still denied
        even if the tag is missing"."""
        tagged = policy("tagged", deny("s3:*", Condition={"StringNotEqualsIfExists": {"aws:ResourceTag/team": "data"}}))
        assert decide("s3:GetObject", identity_policies=[ADMIN, tagged]).explicit_denies
        assert not decide(
            "s3:GetObject", context={"aws:ResourceTag/team": "data"}, identity_policies=[ADMIN, tagged]
        ).explicit_denies

    @pytest.mark.parametrize("role,result", [("audit", False), ("security", False), ("dev", True)])
    def test_values_of_a_negated_operator_are_nored(self, role, result):
        """Per "Conditions with multiple context keys or values": several values of one key are ORed,
        and NORed for a negated operator."""
        assert (
            holds(
                {"StringNotEquals": {"aws:PrincipalTag/role": ["audit", "security"]}}, **{"aws:PrincipalTag/role": role}
            )
            is result
        )
        assert (
            holds({"StringEquals": {"aws:PrincipalTag/role": ["audit", "security"]}}, **{"aws:PrincipalTag/role": role})
            is not result
        )

    def test_keys_and_operators_are_anded(self):
        """Per "Conditions with multiple context keys or values": several keys of one operator, and
        several operators, must all be true."""
        condition = {
            "StringEquals": {"aws:PrincipalTag/department": "finance", "aws:PrincipalTag/role": "audit"},
            "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT_A}:role/*"},
        }
        both = {"aws:PrincipalTag/department": "finance", "aws:PrincipalTag/role": "audit"}
        assert holds(condition, **both)
        assert not holds(condition, **{**both, "aws:PrincipalTag/role": "dev"})
        assert not holds(condition, **{"aws:PrincipalTag/department": "finance"})
        assert not holds({**condition, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}, **both)

    def test_condition_key_names_are_case_insensitive(self):
        """Per "IAM JSON policy elements: Condition": aws:SourceIP is the same key as AWS:SourceIp;
        values stay case-sensitive for StringEquals."""
        assert holds({"IpAddress": {"aws:SourceIP": "203.0.113.0/24"}}, **{"AWS:sourceip": "203.0.113.9"})

    @pytest.mark.parametrize(
        "operator",
        [
            "BinaryEquals",
            "BinaryEqualsIfExists",
            "StringEqualz",
            "NullIfExists",
            "ForAnyValue:Null",
            "StringLikeIfExist",
        ],
    )
    def test_operators_it_does_not_model_raise_naming_the_operator(self, operator):
        """Per "Condition operators": BinaryEquals compares base-64 bytes, which no request here
        carries; it and any unknown name raise instead of being ignored, even in a statement
        whose action the request does not reach."""
        unread = policy("p", allow("ec2:*", Condition={operator: {"aws:username": "x"}}))
        with pytest.raises(PolicyError, match=operator):
            decide("s3:GetObject", identity_policies=[ADMIN, unread])

    def test_variables_are_not_read_in_numeric_values(self):
        """Per "Condition operators": "You can not use a policy variable with the Numeric condition
        operator"; such a value is not a number and raises."""
        with pytest.raises(PolicyError, match="not a number"):
            holds({"NumericLessThan": {"s3:max-keys": "${aws:username}"}}, **{"s3:max-keys": 1})


class TestMultivaluedKeys:
    ATTRIBUTES = ("PostDateTime", "Message", "Tags")

    @pytest.mark.parametrize(
        "requested,result",
        [
            (["PostDateTime", "Message"], True),
            (["PostDateTime", "UserName"], False),
            (["ID"], False),
            (ABSENT, True),
            ([], True),
            ([""], True),
        ],
    )
    def test_for_all_values_needs_every_request_value_listed(self, requested, result):
        """Per "Multivalued context keys", ForAllValues (the DynamoDB Thread example): true if every
        requested attribute is listed, and also when the key is absent or an empty set."""
        context = {} if requested is ABSENT else {"dynamodb:Attributes": requested}
        assert holds({"ForAllValues:StringLike": {"dynamodb:Attributes": list(self.ATTRIBUTES)}}, **context) is result

    @pytest.mark.parametrize(
        "requested,denied",
        [
            (["UserName", "Message", "PostDateTime"], True),
            (["UserName"], False),
            (ABSENT, False),
            ([], False),
        ],
    )
    def test_for_any_value_needs_one_listed_value(self, requested, denied):
        """Per "Multivalued context keys", ForAnyValue: the Deny on PutItem with ID or PostDateTime;
        an absent key or an empty set does not match."""
        forbid = policy(
            "forbid",
            deny(
                "dynamodb:PutItem",
                Condition={"ForAnyValue:StringLike": {"dynamodb:Attributes": ["ID", "PostDateTime"]}},
            ),
        )
        context = {} if requested is ABSENT else {"dynamodb:Attributes": requested}
        decision = decide("dynamodb:PutItem", context=context, identity_policies=[ADMIN, forbid])
        assert bool(decision.explicit_denies) is denied

    @pytest.mark.parametrize(
        "tag_keys,denied",
        [(["key1:legal"], False), (["key1:hr", "key1:personnel"], False), (["key2:audit"], True), (ABSENT, True)],
    )
    def test_for_all_values_with_a_negated_operator(self, tag_keys, denied):
        """Per "Multivalued context key examples", Deny with ForAllValues:StringNotLike on
        aws:TagKeys "key1*": the doc's table of matches, an absent key included."""
        restricted = policy(
            "restricted",
            deny(["iam:Tag*", "iam:UnTag*"], Condition={"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}),
        )
        context = {} if tag_keys is ABSENT else {"aws:TagKeys": tag_keys}
        decision = decide("iam:TagRole", context=context, identity_policies=[ADMIN, restricted])
        assert bool(decision.explicit_denies) is denied

    def test_for_any_value_with_a_negated_operator_needs_one_unlisted_value(self):
        """Per "Multivalued context keys": ForAnyValue:StringNotEquals is true when at least one
        request value is none of the policy's values."""
        condition = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["team", "cost-center"]}}
        assert holds(condition, **{"aws:TagKeys": ["team", "owner"]})
        assert not holds(condition, **{"aws:TagKeys": ["team"]})
        assert not holds(condition)

    def test_if_exists_makes_a_set_operator_hold_for_an_absent_key(self):
        """Per "Condition operators", ...IfExists applies to set operators as well."""
        assert holds({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"}})
        assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}})


class TestPolicyVariables:
    DAVID = Principal.user(f"arn:aws:iam::{ACCOUNT_A}:user/David")

    def test_username_in_the_resource(self):
        """Per "IAM policy elements: Variables and tags": each user manages only their own access keys."""
        own_keys = policy("own-keys", allow("iam:*AccessKey*", f"arn:aws:iam::{ACCOUNT_A}:user/${{aws:username}}"))
        assert decide(
            "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT_A}:user/David", self.DAVID, identity_policies=[own_keys]
        ).allowed
        assert not decide(
            "iam:CreateAccessKey", f"arn:aws:iam::{ACCOUNT_A}:user/Bob", self.DAVID, identity_policies=[own_keys]
        ).allowed

    def test_username_in_a_condition(self):
        """Per "Variables and tags": s3:prefix must be the user's home directory."""
        home = policy(
            "home",
            allow(
                "s3:ListBucket", "arn:aws:s3:::mybucket", Condition={"StringLike": {"s3:prefix": ["${aws:username}/*"]}}
            ),
        )

        def lists(prefix: str) -> bool:
            return decide(
                "s3:ListBucket",
                "arn:aws:s3:::mybucket",
                self.DAVID,
                context={"s3:prefix": prefix},
                identity_policies=[home],
                resource_account=ACCOUNT_A,
            ).allowed

        assert (lists("David/reports/"), lists("Bob/reports/")) == (True, False)

    def test_a_variable_without_value_matches_no_resource_and_is_reported(self):
        """Per "Variables and tags", Policy variables with no value: a Resource with such a variable
        "will not match any resource"; the proof learns which key was missing."""
        team = policy("team", allow("s3:GetObject", "arn:aws:s3:::bucket/${aws:PrincipalTag/team}/*"))
        decision = decide(
            "s3:GetObject", "arn:aws:s3:::bucket//x", identity_policies=[team], resource_account=ACCOUNT_A
        )
        assert not decision.allowed
        assert decision.missing_keys == ("aws:PrincipalTag/team",)

    def test_a_variable_without_value_matches_only_negated_operators(self):
        """Per "Policy variables with no value": StringEquals does not match the effectively null
        value; StringNotEquals does."""
        assert not holds(
            {"StringEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}},
            **{"s3:ExistingObjectTag/Team": "x"},
        )
        assert holds(
            {"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}},
            **{"s3:ExistingObjectTag/Team": "x"},
        )

    @pytest.mark.parametrize(
        "tags,bucket,allowed",
        [({}, "company-wide", True), ({}, "yellow", False), ({"aws:PrincipalTag/team": "yellow"}, "yellow", True)],
    )
    def test_default_values(self, tags, bucket, allowed):
        """Per "Variables and tags", Specifying default values: users without a team tag get the
        company-wide bucket."""
        team_bucket = policy(
            "team-bucket",
            allow("s3:GetObject", "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}/*"),
        )
        decision = decide(
            "s3:GetObject",
            f"arn:aws:s3:::DOC-EXAMPLE-BUCKET-{bucket}/x",
            context=tags,
            identity_policies=[team_bucket],
            resource_account=ACCOUNT_A,
        )
        assert decision.allowed is allowed

    def test_special_characters_are_literal(self):
        """Per "Variables and tags", Special characters: ${*}, ${?} and ${$} stand for the characters
        themselves, not wildcards."""
        literal = policy("literal", allow("s3:GetObject", "arn:aws:s3:::bucket/${*}${?}${$}"))

        def gets(key: str) -> bool:
            return decide(
                "s3:GetObject", f"arn:aws:s3:::bucket/{key}", identity_policies=[literal], resource_account=ACCOUNT_A
            ).allowed

        assert (gets("*?$"), gets("ab$")) == (True, False)
        assert holds({"StringLike": {"aws:username": "a${*}"}}, **{"aws:username": "a*"})
        assert not holds({"StringLike": {"aws:username": "a${*}"}}, **{"aws:username": "abc"})

    def test_without_version_2012_10_17_variables_are_literal_text(self):
        """Per "Variables and tags": without "Version": "2012-10-17", ${aws:username} is a literal string."""
        old = Policy("old", document(allow("s3:GetObject", "arn:aws:s3:::b/${aws:username}/*"), version=None))
        literal = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/${aws:username}/x",
            self.DAVID,
            identity_policies=[old],
            resource_account=ACCOUNT_A,
        )
        substituted = decide(
            "s3:GetObject", "arn:aws:s3:::b/David/x", self.DAVID, identity_policies=[old], resource_account=ACCOUNT_A
        )
        assert (literal.allowed, substituted.allowed) == (True, False)

    def test_a_multivalued_key_cannot_be_a_variable(self):
        """Per "Variables and tags": "You can't use a multivalued condition key as a variable"."""
        with pytest.raises(PolicyError, match="multivalued"):
            holds(
                {"StringEquals": {"aws:username": "${aws:TagKeys}"}}, **{"aws:username": "a", "aws:TagKeys": ["a", "b"]}
            )


def organization(*levels: list[Policy]) -> ServiceControlPolicies:
    names = ["Root", "Workloads", "ML-Prod", "account"]
    return ServiceControlPolicies([ScpLevel(names[index], level) for index, level in enumerate(levels)], MANAGEMENT)


GUARDRAIL = policy("guardrail", {"Sid": "DenyLeavingOrganization", **deny("organizations:LeaveOrganization")})
ALLOW_LIST = policy("allow-list", allow(["s3:*", "ec2:*"]))


class TestServiceControlPolicies:
    def test_deny_list_strategy(self):
        """AWS Organizations, "SCP evaluation" (How SCPs work with Deny): with FullAWSAccess
        everywhere, only what a guardrail denies is denied, even for an administrator."""
        scps = organization([FULL_AWS_ACCESS, GUARDRAIL], [FULL_AWS_ACCESS], [FULL_AWS_ACCESS])
        leaving = decide("organizations:LeaveOrganization", identity_policies=[ADMIN], service_control_policies=scps)
        assert sids(leaving.explicit_denies) == ["DenyLeavingOrganization"]
        assert decide("s3:ListAllMyBuckets", identity_policies=[ADMIN], service_control_policies=scps).allowed

    def test_allow_list_strategy(self):
        """Per "SCP evaluation" (How SCPs work with Allow): an OU whose SCP allows only S3 and EC2
        implicitly denies every other service, whatever IAM allows."""
        scps = organization([FULL_AWS_ACCESS], [ALLOW_LIST], [FULL_AWS_ACCESS])
        assert decide("ec2:StartInstances", identity_policies=[ADMIN], service_control_policies=scps).allowed
        iam = decide("iam:CreateUser", identity_policies=[ADMIN], service_control_policies=scps)
        assert not iam.allowed and not iam.explicit_denies
        assert [str(gap) for gap in iam.implicit_denies] == ["no SCP attached at level 1 (Workloads) allows it"]

    @pytest.mark.parametrize(
        "levels,denied_at",
        [
            ([[FULL_AWS_ACCESS], [FULL_AWS_ACCESS], []], [2]),
            ([[policy("root-s3", allow("s3:*"))], [policy("ou-ec2", allow("ec2:*"))], [FULL_AWS_ACCESS]], [1]),
            ([[policy("root-ec2", allow("ec2:*"))], [policy("ou-ec2", allow("ec2:*"))], [FULL_AWS_ACCESS]], [0, 1]),
            ([[FULL_AWS_ACCESS], [ALLOW_LIST], [policy("account-ec2", allow("ec2:*"))]], [2]),
        ],
    )
    def test_every_level_from_the_root_to_the_account_must_allow(self, levels, denied_at):
        """Per "SCP evaluation": an explicit Allow is needed at every level from the root through
        each OU to the account itself; any level without one denies."""
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            identity_policies=[ADMIN],
            service_control_policies=organization(*levels),
            resource_account=ACCOUNT_A,
        )
        assert not decision.allowed
        assert [gap.reason.split(" (")[0] for gap in decision.implicit_denies] == [
            f"no SCP attached at level {n}" for n in denied_at
        ]

    def test_scps_grant_nothing(self):
        """Per "Service control policies": SCPs do not grant permissions; IAM still must allow."""
        decision = decide("s3:ListAllMyBuckets", service_control_policies=organization([FULL_AWS_ACCESS]))
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.IDENTITY]

    def test_explicit_deny_at_any_level_wins(self):
        """Per "SCP evaluation" (How SCPs work with Deny): a Deny attached to the account denies even
        though every level allows."""
        scps = organization([FULL_AWS_ACCESS], [FULL_AWS_ACCESS], [FULL_AWS_ACCESS, GUARDRAIL])
        decision = decide("organizations:LeaveOrganization", identity_policies=[ADMIN], service_control_policies=scps)
        assert [str(ref) for ref in decision.explicit_denies] == ["SCP 'guardrail' statement 'DenyLeavingOrganization'"]

    def test_management_account_principals_are_not_affected(self):
        """Per "Service control policies": SCPs don't affect users or roles in the management account."""
        admin = Principal.role(f"arn:aws:iam::{MANAGEMENT}:role/admin")
        decision = decide(
            "organizations:LeaveOrganization",
            principal=admin,
            identity_policies=[ADMIN],
            service_control_policies=organization([GUARDRAIL]),
        )
        assert decision.allowed
        assert decision.notes == (f"SCPs do not apply to principals of the management account {MANAGEMENT}",)

    def test_service_linked_roles_are_not_affected(self):
        """Per "Service control policies": SCPs do not affect service-linked roles (their path is
        /aws-service-role/, "Using service-linked roles")."""
        linked = Principal.role(
            f"arn:aws:iam::{ACCOUNT_A}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleForAmazonSageMaker"
        )
        scps = organization([FULL_AWS_ACCESS, GUARDRAIL])
        assert linked.is_service_linked_role
        assert decide(
            "organizations:LeaveOrganization",
            principal=linked,
            identity_policies=[ADMIN],
            service_control_policies=scps,
        ).allowed
        assert not decide(
            "organizations:LeaveOrganization", identity_policies=[ADMIN], service_control_policies=scps
        ).allowed

    def test_scps_limit_what_a_resource_policy_grants_in_the_same_account(self):
        """Per "Policy evaluation logic": SCPs are evaluated before resource-based policies; a
        bucket policy cannot grant what the principal's SCPs do not allow."""
        bucket = resource_policy(
            "bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ROLE.session_arn})
        )
        only_ec2 = organization([FULL_AWS_ACCESS], [policy("ec2", allow("ec2:*"))])
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            resource_policy=bucket,
            service_control_policies=only_ec2,
            resource_account=ACCOUNT_A,
        )
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.SCP]


SHIRLEY = Principal.user(f"arn:aws:iam::{ACCOUNT_A}:user/ShirleyRodriguez")
SHIRLEY_BOUNDARY = policy("shirley-boundary", allow(["s3:*", "cloudwatch:*", "ec2:*"]))


class TestPermissionsBoundaries:
    def test_identity_allows_but_boundary_does_not(self):
        """Per "Permissions boundaries for IAM entities": Shirley's policy allows iam:CreateUser,
        her boundary (S3, CloudWatch, EC2) does not, so she cannot create users."""
        decision = decide(
            "iam:CreateUser",
            principal=SHIRLEY,
            identity_policies=[policy("create-user", allow("iam:CreateUser"))],
            permissions_boundary=SHIRLEY_BOUNDARY,
        )
        assert [str(gap) for gap in decision.implicit_denies] == [
            "permissions boundary 'shirley-boundary' does not allow it"
        ]

    def test_boundary_allows_but_identity_does_not(self):
        """Per "Permissions boundaries": a boundary "does not provide permissions on its own"."""
        decision = decide("s3:ListAllMyBuckets", principal=SHIRLEY, permissions_boundary=SHIRLEY_BOUNDARY)
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.IDENTITY]

    def test_both_allow(self):
        """Per "Evaluating effective permissions with boundaries": the intersection is allowed."""
        assert decide(
            "s3:ListAllMyBuckets", principal=SHIRLEY, identity_policies=[ADMIN], permissions_boundary=SHIRLEY_BOUNDARY
        ).allowed

    def test_explicit_deny_in_the_boundary_wins(self):
        """Per "Evaluating effective permissions with boundaries": an explicit deny in either policy
        overrides the allow (XCompanyBoundaries' DenyS3Logs)."""
        boundary = policy(
            "x-company",
            allow("s3:*"),
            {"Sid": "DenyS3Logs", **deny("s3:*", ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"])},
        )
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::logs/a",
            SHIRLEY,
            identity_policies=[ADMIN],
            permissions_boundary=boundary,
            resource_account=ACCOUNT_A,
        )
        assert [str(ref) for ref in decision.explicit_denies] == [
            "permissions boundary 'x-company' statement 'DenyS3Logs'"
        ]

    def test_scp_boundary_and_identity_must_all_allow(self):
        """Per "Evaluating effective permissions with boundaries", Organizations SCPs: a request
        affected by an SCP, a boundary and an identity-based policy needs all three."""
        scps = organization([FULL_AWS_ACCESS], [policy("no-ec2", allow("s3:*"))])
        decision = decide(
            "ec2:StartInstances",
            principal=SHIRLEY,
            identity_policies=[ADMIN],
            permissions_boundary=SHIRLEY_BOUNDARY,
            service_control_policies=scps,
        )
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.SCP]
        assert decide(
            "s3:ListAllMyBuckets",
            principal=SHIRLEY,
            identity_policies=[ADMIN],
            permissions_boundary=SHIRLEY_BOUNDARY,
            service_control_policies=scps,
        ).allowed

    @pytest.mark.parametrize(
        "grantee,boundary,allowed",
        [
            (ROLE.arn, None, True),
            (ROLE.arn, SHIRLEY_BOUNDARY, True),
            (ROLE.arn, policy("ec2-only", allow("ec2:*")), False),
            (ROLE.session_arn, policy("ec2-only", allow("ec2:*")), True),
            ("*", policy("ec2-only", allow("ec2:*")), True),
            (ACCOUNT_A, None, False),
            (f"arn:aws:iam::{ACCOUNT_A}:root", None, False),
        ],
    )
    def test_same_account_resource_policy_grants_by_principal_name(self, grantee, boundary, allowed):
        """Per "Policy evaluation logic", resource-based policies and implicit denies (same account):
        a grant to the role ARN is limited by an implicit deny in the boundary, a grant to the
        role session (or to "*") is not, and neither needs an identity-based policy; a grant to
        the account delegates to identity-based policies, of which the role has none."""
        bucket = resource_policy("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": grantee}))
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            resource_policy=bucket,
            permissions_boundary=boundary,
            resource_account=ACCOUNT_A,
        )
        assert decision.allowed is allowed, decision.explain()

    def test_a_grant_to_an_iam_user_is_not_limited_by_its_boundary(self):
        """Per "Policy evaluation logic": resource-based policies that grant permissions to an IAM
        user ARN are not limited by an implicit deny in an identity-based policy or boundary."""
        bucket = resource_policy("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": SHIRLEY.arn}))
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            SHIRLEY,
            resource_policy=bucket,
            permissions_boundary=policy("ec2-only", allow("ec2:*")),
            resource_account=ACCOUNT_A,
        )
        assert decision.allowed

    def test_a_grant_to_the_account_needs_the_identity_policy(self):
        """Per "AWS JSON policy elements: Principal", AWS account principals: naming the account
        "delegates authority to the account"; its identity-based policies then decide."""
        bucket = resource_policy("bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ACCOUNT_A}))
        reader = policy("reader", allow("s3:GetObject", "arn:aws:s3:::b/*"))
        decision = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            resource_policy=bucket,
            identity_policies=[reader],
            resource_account=ACCOUNT_A,
        )
        assert decision.allowed
        assert decision.notes == (
            f"resource-based policy 'bucket' grants to account {ACCOUNT_A}: its IAM policies must allow",
        )

    def test_not_principal_with_deny_always_denies_a_principal_with_a_boundary(self):
        """Per "Permissions boundaries for IAM entities": NotPrincipal with Deny "will always deny any
        IAM principal that has a permissions boundary policy attached"."""
        bucket = resource_policy(
            "bucket",
            allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ROLE.arn}),
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": [ROLE.session_arn, ROLE.arn, f"arn:aws:iam::{ACCOUNT_A}:root"]},
                "Action": "s3:*",
                "Resource": "arn:aws:s3:::b/*",
            },
        )
        unbounded = decide("s3:GetObject", "arn:aws:s3:::b/k", resource_policy=bucket, resource_account=ACCOUNT_A)
        bounded = decide(
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            resource_policy=bucket,
            permissions_boundary=ADMIN,
            resource_account=ACCOUNT_A,
        )
        assert (unbounded.allowed, bool(bounded.explicit_denies)) == (True, True)


BUCKET_B = "arn:aws:s3:::shared-b"


class TestCrossAccount:
    def bucket(self, grantee: str) -> ResourcePolicy:
        return resource_policy("shared-b", allow("s3:GetObject", f"{BUCKET_B}/*", Principal={"AWS": grantee}))

    READER = policy("reader", allow("s3:GetObject", f"{BUCKET_B}/*"))

    def test_both_accounts_must_allow(self):
        """Per "Cross-account policy evaluation logic": the request is allowed only if the trusted
        account's identity-based policy and the trusting account's resource-based policy allow."""
        decision = decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=self.bucket(ACCOUNT_A),
            identity_policies=[self.READER],
            resource_account=ACCOUNT_B,
        )
        assert decision.allowed

    def test_without_the_identity_policy(self):
        """Per "Cross-account policy evaluation logic": the resource policy alone does not suffice,
        even when it names the role session itself."""
        decision = decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=self.bucket(ROLE.session_arn or ""),
            resource_account=ACCOUNT_B,
        )
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.IDENTITY]

    @pytest.mark.parametrize("grantee", [None, ACCOUNT_B, f"arn:aws:iam::{ACCOUNT_A}:role/someone-else"])
    def test_without_a_resource_policy_that_names_the_principal(self, grantee):
        """Per "Cross-account policy evaluation logic": the identity-based policy alone does not
        suffice either."""
        bucket = None if grantee is None else self.bucket(grantee)
        decision = decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=bucket,
            identity_policies=[ADMIN],
            resource_account=ACCOUNT_B,
        )
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.RESOURCE]
        assert str(decision.implicit_denies[0]).startswith(
            f"cross-account request from {ACCOUNT_A} to a resource of {ACCOUNT_B}"
        )

    def test_the_trusted_accounts_boundary_and_scps_apply(self):
        """Per "Cross-account policy evaluation logic": in the trusted account AWS checks the
        identity-based policy "and any policies that can limit" it: boundary and SCPs."""
        bucket = self.bucket(ROLE.arn)
        assert not decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=bucket,
            identity_policies=[ADMIN],
            permissions_boundary=policy("ec2", allow("ec2:*")),
            resource_account=ACCOUNT_B,
        ).allowed
        scps = organization([FULL_AWS_ACCESS, policy("no-s3", deny("s3:*"))])
        assert decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=bucket,
            identity_policies=[ADMIN],
            service_control_policies=scps,
            resource_account=ACCOUNT_B,
        ).explicit_denies

    @pytest.mark.parametrize("written", [ACCOUNT_A, f"arn:aws:iam::{ACCOUNT_A}:root"])
    def test_account_id_and_root_arn_name_the_same_principal(self, written):
        """Per "AWS JSON policy elements: Principal": "The account ARN and the shortened account ID
        behave the same way"."""
        decision = decide(
            "s3:GetObject",
            f"{BUCKET_B}/k",
            resource_policy=self.bucket(written),
            identity_policies=[self.READER],
            resource_account=ACCOUNT_B,
        )
        assert decision.allowed

    def test_a_lambda_role_puts_events_on_another_accounts_bus(self):
        """A runtime flow: identity policy, boundary, the bus policy (organization members only,
        "Cross-account policy evaluation logic") and the account's SCPs all allow; a principal of
        another organization does not pass; an unknown organization id is reported by name."""
        bus = f"arn:aws:events:eu-west-1:{ACCOUNT_B}:event-bus/deployments"
        bus_policy = resource_policy(
            "deployments bus",
            {
                "Sid": "OrganizationMembers",
                **allow(
                    "events:PutEvents", bus, Principal="*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-acme"}}
                ),
            },
        )
        evaluation: dict[str, Any] = {
            "identity_policies": [policy("put-events", allow("events:PutEvents", bus))],
            "permissions_boundary": policy("platform-boundary", allow(["events:*", "logs:*"])),
            "service_control_policies": organization([FULL_AWS_ACCESS], [FULL_AWS_ACCESS, GUARDRAIL]),
            "resource_policy": bus_policy,
        }
        member = decide("events:PutEvents", bus, context={"aws:PrincipalOrgID": "o-acme"}, **evaluation)
        outsider = decide("events:PutEvents", bus, context={"aws:PrincipalOrgID": "o-other"}, **evaluation)
        unknown = decide("events:PutEvents", bus, **evaluation)
        assert member.allowed, member.explain()
        assert sids(member.allows[-1:]) == ["OrganizationMembers"]
        assert not outsider.allowed and not unknown.allowed
        assert unknown.missing_keys == ("aws:PrincipalOrgID",)


KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT_A}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ENABLE_IAM_POLICIES = {
    "Sid": "Enable IAM User Permissions",
    **allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT_A}:root"}),
}


def key_policy(*statements: dict[str, Any]) -> ResourcePolicy:
    return resource_policy("key", *statements, kind=ResourcePolicyKind.KEY_POLICY)


class TestKmsKeyPolicies:
    DECRYPT = policy("decrypt", allow("kms:Decrypt", KEY))

    def test_the_default_key_policy_delegates_to_iam_policies(self):
        """AWS KMS, "Default key policy": the statement naming arn:aws:iam::ACCOUNT:root "enables
        IAM policies"; with it, the role's identity-based policy decides."""
        decision = decide(
            "kms:Decrypt", KEY, resource_policy=key_policy(ENABLE_IAM_POLICIES), identity_policies=[self.DECRYPT]
        )
        assert decision.allowed
        assert [str(ref) for ref in decision.allows] == [
            "identity-based policy 'decrypt' statement #0",
            "key policy 'key' statement 'Enable IAM User Permissions'",
        ]

    def test_delegation_without_an_identity_policy_denies(self):
        """Per "Default key policy": root access enables IAM policies; it grants no role by itself."""
        decision = decide("kms:Decrypt", KEY, resource_policy=key_policy(ENABLE_IAM_POLICIES))
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.IDENTITY]

    def test_iam_policies_have_no_effect_without_the_key_policy(self):
        """Per "Key policies in AWS KMS": "Without permission from the key policy, IAM policies that
        allow permissions have no effect"."""
        administrators_only = key_policy(
            allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT_A}:role/key-admin"})
        )
        decision = decide("kms:Decrypt", KEY, resource_policy=administrators_only, identity_policies=[ADMIN])
        assert not decision.allowed
        assert (
            str(decision.implicit_denies[-1])
            == "a key policy must allow the principal, and key policy 'key' does not allow it"
        )

    def test_a_key_policy_naming_the_role_needs_no_identity_policy(self):
        """Per "Key policies in AWS KMS": a key policy statement can give a principal access directly."""
        direct = key_policy(allow(["kms:Decrypt", "kms:GenerateDataKey"], "*", Principal={"AWS": ROLE.arn}))
        assert decide("kms:Decrypt", KEY, resource_policy=direct).allowed

    def test_a_deny_in_an_identity_policy_still_applies(self):
        """Per "Key policies in AWS KMS": "You can use an IAM policy to deny a permission to a KMS key"."""
        direct = key_policy(allow("kms:*", "*", Principal={"AWS": ROLE.arn}))
        no_decrypt = policy("no-decrypt", deny("kms:Decrypt"))
        assert decide("kms:Decrypt", KEY, resource_policy=direct, identity_policies=[no_decrypt]).explicit_denies

    def test_cross_account_use_of_a_key(self):
        """Per "Allowing users in other accounts to use a KMS key": the key policy allows the other
        account and that account's IAM policy allows its role."""
        shared = key_policy(
            ENABLE_IAM_POLICIES,
            {"Sid": "AllowAccountB", **allow("kms:Decrypt", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"})},
        )
        assert decide("kms:Decrypt", KEY, OTHER_ROLE, resource_policy=shared, identity_policies=[self.DECRYPT]).allowed
        assert not decide(
            "kms:Decrypt",
            KEY,
            OTHER_ROLE,
            resource_policy=key_policy(ENABLE_IAM_POLICIES),
            identity_policies=[self.DECRYPT],
        ).allowed

    def test_a_key_is_never_evaluated_without_its_key_policy(self):
        """Every KMS key has a key policy; deciding on IAM policies alone would be wrong."""
        with pytest.raises(ValueError, match="key policy"):
            decide("kms:Decrypt", KEY, identity_policies=[ADMIN])
        with pytest.raises(ValueError, match="key policy"):
            decide(
                "kms:Decrypt",
                KEY,
                identity_policies=[ADMIN],
                resource_policy=resource_policy("not a key policy", ENABLE_IAM_POLICIES),
            )


DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT_A}:role/deployer"


def trust_policy(*statements: dict[str, Any]) -> ResourcePolicy:
    return resource_policy("trust", *statements, kind=ResourcePolicyKind.TRUST_POLICY)


def trusting(principal: dict[str, Any] | str, **elements: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **elements}


class TestRoleTrustPolicies:
    ASSUME = policy("assume", allow("sts:AssumeRole", DEPLOY_ROLE))

    @pytest.mark.parametrize("service,allowed", [("lambda.amazonaws.com", True), ("events.amazonaws.com", False)])
    def test_a_service_assumes_a_role_its_trust_policy_names(self, service, allowed):
        """Per "AWS JSON policy elements: Principal", AWS service principals: a service role's trust
        policy names the services that may assume it; services have no identity-based policies."""
        trust = trust_policy(trusting({"Service": "lambda.amazonaws.com"}))
        assert (
            decide("sts:AssumeRole", DEPLOY_ROLE, Principal.service(service), resource_policy=trust).allowed is allowed
        )

    def test_cross_account_assumption_needs_trust_and_identity_policy(self):
        """Per "Granting a user permissions to switch roles": the trusting account names the trusted
        account in the trust policy, and the trusted account must allow sts:AssumeRole."""
        trust = trust_policy(trusting({"AWS": f"arn:aws:iam::{ACCOUNT_B}:root"}))
        assert decide(
            "sts:AssumeRole", DEPLOY_ROLE, OTHER_ROLE, resource_policy=trust, identity_policies=[self.ASSUME]
        ).allowed
        without = decide("sts:AssumeRole", DEPLOY_ROLE, OTHER_ROLE, resource_policy=trust)
        assert [gap.layer for gap in without.implicit_denies] == [Layer.IDENTITY]

    def test_trust_policy_must_allow_even_an_administrator(self):
        """Per "Policy evaluation logic": role trust policies "must explicitly allow access for
        principals", unlike most resource-based policies."""
        trust = trust_policy(trusting({"Service": "cloudformation.amazonaws.com"}))
        decision = decide("sts:AssumeRole", DEPLOY_ROLE, resource_policy=trust, identity_policies=[ADMIN])
        assert [gap.layer for gap in decision.implicit_denies] == [Layer.RESOURCE]

    @pytest.mark.parametrize(
        "trusted,identity,allowed",
        [
            (f"arn:aws:iam::{ACCOUNT_A}:root", [], False),
            (f"arn:aws:iam::{ACCOUNT_A}:root", "assume", True),
            (ROLE.arn, [], True),
        ],
    )
    def test_same_account_trust_names_the_account_or_the_role(self, trusted, identity, allowed):
        """Per "Policy evaluation logic" (same account): a trust policy naming the account delegates
        to identity-based policies; one naming the calling role grants it directly."""
        policies = [self.ASSUME] if identity else []
        decision = decide(
            "sts:AssumeRole",
            DEPLOY_ROLE,
            resource_policy=trust_policy(trusting({"AWS": trusted})),
            identity_policies=policies,
        )
        assert decision.allowed is allowed

    def test_external_id_not_supplied_is_reported(self):
        """Per "How to use an external ID": the sts:ExternalId condition decides; a proof that did not
        supply it learns so by name."""
        trust = trust_policy(trusting({"AWS": ACCOUNT_B}, Condition={"StringEquals": {"sts:ExternalId": "acme"}}))
        decision = decide(
            "sts:AssumeRole", DEPLOY_ROLE, OTHER_ROLE, resource_policy=trust, identity_policies=[self.ASSUME]
        )
        assert not decision.allowed
        assert decision.missing_keys == ("sts:ExternalId",)

    @pytest.mark.parametrize("action", ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:TagSession"])
    def test_a_role_is_never_assumed_without_its_trust_policy(self, action):
        """Every role has a trust policy; it decides sts:AssumeRole and the session's tags."""
        with pytest.raises(ValueError, match="trust policy"):
            decide(action, DEPLOY_ROLE, identity_policies=[ADMIN])

    def test_a_trust_or_key_policy_governs_only_its_role_or_key(self):
        """Passing a key or trust policy for another kind of resource is a caller's mistake."""
        trust = trust_policy(trusting({"AWS": ROLE.arn}))
        with pytest.raises(ValueError, match="does not govern"):
            decide("iam:GetRole", DEPLOY_ROLE, identity_policies=[ADMIN], resource_policy=trust)
        with pytest.raises(ValueError, match="does not govern"):
            decide(
                "s3:GetObject",
                "arn:aws:s3:::b/k",
                resource_policy=key_policy(ENABLE_IAM_POLICIES),
                resource_account=ACCOUNT_A,
            )


PRODUCT = f"arn:aws:catalog:eu-west-1:{ACCOUNT_A}:product/prod-abc123"


def portfolio(*principal_names: str) -> ResourcePolicy:
    """A portfolio's access as proofs.references.catalog reads it: its principal names."""
    return resource_policy(
        "portfolio",
        allow(
            "servicecatalog:*",
            Principal={"AWS": "*"},
            Condition={"ArnLike": {"aws:PrincipalArn": list(principal_names)}},
        ),
        kind=ResourcePolicyKind.PORTFOLIO_ACCESS,
    )


class TestServiceCatalogPortfolioAccess:
    LAUNCH = policy("launch", allow("servicecatalog:ProvisionProduct", "*"))

    @pytest.mark.parametrize(
        ("names", "identity", "missing"),
        [
            ([ROLE.arn], [], [Layer.IDENTITY]),
            ([OTHER_ROLE.arn], "launch", [Layer.RESOURCE]),
            ([ROLE.arn], "launch", []),
        ],
    )
    def test_a_principal_of_the_portfolios_account_needs_both(self, names, identity, missing):
        """Service Catalog Administrator Guide, "Granting access to users": end users need IAM
        permissions to use the products and the portfolio's access; it supports no resource-based
        policies, so the portfolio's principal names never allow alone, even in its own account
        (where a resource-based policy naming the principal would)."""
        decision = decide(
            "servicecatalog:ProvisionProduct",
            PRODUCT,
            resource_policy=portfolio(*names),
            identity_policies=[self.LAUNCH] if identity else [],
        )
        assert [gap.layer for gap in decision.implicit_denies] == missing
        assert decision.allowed is not missing


class TestServicePrincipals:
    BUS = f"arn:aws:events:eu-west-1:{ACCOUNT_A}:event-bus/default"

    def test_a_service_principal_needs_the_resource_policy(self):
        """Per "AWS JSON policy elements: Principal", AWS service principals: a service acts on a
        resource only if its resource-based policy names the service; SCPs do not apply."""
        function = f"arn:aws:lambda:eu-west-1:{ACCOUNT_A}:function:approve"
        permission = resource_policy(
            "lambda permissions",
            allow(
                "lambda:InvokeFunction",
                function,
                Principal={"Service": "events.amazonaws.com"},
                Condition={"ArnLike": {"AWS:SourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT_A}:rule/*"}},
            ),
        )
        events = Principal.service("events.amazonaws.com")
        scps = organization([policy("deny-all", deny("*"))])
        context = {"aws:SourceArn": f"arn:aws:events:eu-west-1:{ACCOUNT_A}:rule/approval"}
        decision = decide(
            "lambda:InvokeFunction",
            function,
            events,
            context=context,
            resource_policy=permission,
            service_control_policies=scps,
        )
        assert decision.allowed
        assert decision.notes[0] == "SCPs do not apply to AWS service principals"
        assert not decide(
            "lambda:InvokeFunction",
            function,
            Principal.service("sns.amazonaws.com"),
            context=context,
            resource_policy=permission,
        ).allowed

    def test_a_service_principal_without_a_resource_policy_is_denied(self):
        decision = decide("events:PutEvents", self.BUS, Principal.service("events.amazonaws.com"))
        assert [str(gap) for gap in decision.implicit_denies] == [
            "service principal events.amazonaws.com has no identity-based policies, and the resource has no resource-based policy"
        ]


class TestUnsuppliedKeys:
    REGIONS = policy(
        "regions",
        {
            "Sid": "DenyOtherRegions",
            **deny("s3:*", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}),
        },
    )

    def test_absent_key_keeps_aws_semantics_and_is_named(self):
        """Per "Condition operators": a negated operator matches an absent key, so the Deny applies;
        the decision names the key so a proof does not pass silently."""
        decision = decide("s3:ListAllMyBuckets", identity_policies=[ADMIN, self.REGIONS])
        assert sids(decision.explicit_denies) == ["DenyOtherRegions"]
        assert decision.missing_keys == ("aws:RequestedRegion",)
        assert (
            "not supplied: aws:RequestedRegion (read by identity-based policy 'regions' statement 'DenyOtherRegions')"
            in decision.explain()
        )

    def test_supplied_keys_are_not_reported(self):
        decision = decide(
            "s3:ListAllMyBuckets", context={"aws:requestedregion": "eu-west-1"}, identity_policies=[ADMIN, self.REGIONS]
        )
        assert decision.allowed and decision.missing_keys == ()

    def test_statements_that_do_not_apply_report_nothing(self):
        """Only statements whose action and resource match read their conditions."""
        decision = decide("ec2:DescribeRegions", identity_policies=[ADMIN, self.REGIONS])
        assert decision.allowed and decision.missing_keys == ()

    def test_every_key_of_an_applicable_statement_is_reported_once(self):
        guarded = policy(
            "guarded",
            allow(
                "s3:*",
                Condition={
                    "StringEquals": {"aws:PrincipalTag/team": "a"},
                    "Null": {"s3:x-amz-server-side-encryption": "false"},
                },
            ),
        )
        decision = decide("s3:PutObject", identity_policies=[guarded, guarded])
        assert decision.missing_keys == ("aws:PrincipalTag/team", "s3:x-amz-server-side-encryption")
        assert len(decision.unsupplied_keys) == 2


class TestPrincipals:
    def test_a_session_arn_unrolls_to_its_role_and_account(self):
        """Per "AWS JSON policy elements: Principal", Role session principals: a session is named
        arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION; its role and account name it too."""
        session = Principal.from_arn(f"arn:aws:sts::{ACCOUNT_A}:assumed-role/app/app-session")
        assert session == ROLE
        assert session.names() == {
            f"arn:aws:iam::{ACCOUNT_A}:root": GrantScope.ACCOUNT,
            f"arn:aws:iam::{ACCOUNT_A}:role/app": GrantScope.ROLE,
            f"arn:aws:sts::{ACCOUNT_A}:assumed-role/app/app-session": GrantScope.PRINCIPAL,
        }

    def test_a_role_path_is_not_part_of_its_session_arn(self):
        pathed = Principal.role(f"arn:aws:iam::{ACCOUNT_A}:role/service-role/app", session_name="s")
        assert pathed.session_arn == f"arn:aws:sts::{ACCOUNT_A}:assumed-role/app/s"

    @pytest.mark.parametrize(
        "arn,kind",
        [
            (f"arn:aws:iam::{ACCOUNT_A}:root", PrincipalKind.ROOT),
            (f"arn:aws:iam::{ACCOUNT_A}:user/David", PrincipalKind.USER),
            (f"arn:aws:iam::{ACCOUNT_A}:role/app", PrincipalKind.ROLE),
        ],
    )
    def test_from_arn(self, arn, kind):
        assert Principal.from_arn(arn).kind is kind
        assert principal_account(arn) == ACCOUNT_A

    def test_account_forms(self):
        assert canonical_aws_principal(ACCOUNT_A) == f"arn:aws:iam::{ACCOUNT_A}:root"
        assert canonical_aws_principal(ROLE.arn) == ROLE.arn
        assert principal_account(ACCOUNT_A) == ACCOUNT_A
        assert principal_account("events.amazonaws.com") is None

    def test_no_wildcard_matches_part_of_a_principal(self):
        """Per "AWS JSON policy elements: Principal": "You cannot use a wildcard to match part of a
        principal name or ARN"; use aws:PrincipalArn with ArnLike instead."""
        bucket = resource_policy(
            "bucket", allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT_A}:role/*"})
        )
        assert not decide(
            "s3:GetObject", "arn:aws:s3:::b/k", resource_policy=bucket, resource_account=ACCOUNT_A
        ).allowed

    def test_principal_context(self):
        """Per "AWS global condition context keys": for a role, aws:PrincipalArn is the role's ARN,
        not the session's; a service principal has aws:PrincipalServiceName instead."""
        assert principal_context(ROLE, organization_id="o-acme") == {
            "aws:PrincipalArn": ROLE.arn,
            "aws:PrincipalAccount": ACCOUNT_A,
            "aws:PrincipalType": "AssumedRole",
            "aws:PrincipalIsAWSService": False,
            "aws:PrincipalOrgID": "o-acme",
        }
        assert principal_context(CARLOS)["aws:username"] == "carlossalazar"
        assert principal_context(Principal.root(ACCOUNT_A))["aws:PrincipalArn"] == f"arn:aws:iam::{ACCOUNT_A}:root"
        assert principal_context(Principal.service("events.amazonaws.com")) == {
            "aws:PrincipalIsAWSService": True,
            "aws:PrincipalServiceName": "events.amazonaws.com",
        }

    def test_the_root_user_has_full_access_in_its_own_account(self):
        """Per "How AWS enforcement code logic evaluates requests": all requests are implicitly denied
        "with the exception of the AWS account root user"; SCPs still limit a member account's root."""
        root = Principal.root(ACCOUNT_A)
        assert decide("iam:CreateUser", principal=root).allowed
        assert not decide("iam:CreateUser", principal=root, service_control_policies=organization([ALLOW_LIST])).allowed

    @pytest.mark.parametrize(
        "factory,value",
        [
            (Principal.role, "arn:aws:iam::1:user/x"),
            (Principal.user, ROLE.arn),
            (Principal.root, "12"),
            (Principal.service, "arn:aws:iam::1:root"),
        ],
    )
    def test_malformed_principals_are_rejected(self, factory, value):
        with pytest.raises(ValueError):
            factory(value)


class TestPolicyDocuments:
    @pytest.mark.parametrize(
        "statement,resource_based,message",
        [
            (
                {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
                False,
                "both Action and NotAction",
            ),
            ({"Effect": "Allow", "Action": "s3:*"}, False, "Resource or NotResource"),
            ({"Effect": "Permit", "Action": "s3:*", "Resource": "*"}, False, "Effect"),
            ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}, False, "only resource-based"),
            ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, True, "Principal or NotPrincipal"),
            ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principals": "*"}, True, "unknown elements"),
            ({"Effect": "Allow", "Action": ["s3:*", 3], "Resource": "*"}, False, "Action must be"),
        ],
    )
    def test_malformed_statements_raise(self, statement, resource_based, message):
        """Per "IAM JSON policy elements reference": a statement IAM would reject is not guessed at."""
        broken = (ResourcePolicy if resource_based else Policy)("broken", document(statement))
        with pytest.raises(PolicyError, match=message):
            applicable_statements(broken, request("s3:GetObject"))

    def test_a_trust_policy_statement_without_resource_applies_to_its_role(self):
        trust = trust_policy(trusting({"AWS": ROLE.arn}))
        assert len(applicable_statements(trust, request("sts:AssumeRole", DEPLOY_ROLE))) == 1

    def test_a_single_statement_object_is_a_document(self):
        single = Policy("single", {"Version": "2012-10-17", "Statement": allow("s3:GetObject")})
        assert decide("s3:GetObject", identity_policies=[single]).allowed

    def test_the_resource_account_of_an_s3_arn_must_be_given(self):
        """S3 bucket ARNs carry no account; same- and cross-account rules differ, so the caller
        must say whose bucket it is."""
        with pytest.raises(ValueError, match="resource_account"):
            decide("s3:GetObject", "arn:aws:s3:::b/k", identity_policies=[ADMIN])

    def test_applicable_statements_of_a_resource_policy_must_name_the_principal(self):
        bucket = resource_policy(
            "bucket",
            {"Sid": "OtherAccount", **allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ACCOUNT_B})},
            {"Sid": "ThisRole", **allow("s3:GetObject", "arn:aws:s3:::b/*", Principal={"AWS": ROLE.arn})},
            {
                "Sid": "DenyOthers",
                **deny("s3:*", "arn:aws:s3:::b/*", NotPrincipal={"AWS": [ROLE.arn, f"arn:aws:iam::{ACCOUNT_A}:root"]}),
            },
        )
        assert sids(applicable_statements(bucket, request("s3:GetObject", "arn:aws:s3:::b/k"))) == [
            "ThisRole",
            "DenyOthers",
        ]
        assert sids(applicable_statements(bucket, request("s3:GetObject", "arn:aws:s3:::b/k", OTHER_ROLE))) == [
            "OtherAccount",
            "DenyOthers",
        ]

    def test_applicable_statements(self):
        mixed = policy(
            "mixed",
            {"Sid": "Read", **allow("s3:Get*")},
            {"Sid": "Write", **allow("s3:Put*")},
            {"Sid": "NoDelete", **deny("s3:Delete*")},
        )
        assert sids(applicable_statements(mixed, request("s3:GetObject"))) == ["Read"]
        assert sids(applicable_statements(mixed, request("s3:DeleteObject"))) == ["NoDelete"]


class TestCouldAllow:
    EXECUTION = policy(
        "execution",
        {
            "Sid": "RolesWithBoundary",
            **allow(
                ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
                f"arn:aws:iam::{ACCOUNT_A}:role/acme-*",
                Condition={
                    "StringEquals": {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT_A}:policy/acme-boundary"}
                },
            ),
        },
        {"Sid": "ReadRoles", **allow("iam:Get*", f"arn:aws:iam::{ACCOUNT_A}:role/*")},
        {"Sid": "NoBoundaryDelete", **deny("iam:DeleteRolePermissionsBoundary")},
        {"Sid": "EverythingButIam", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    )

    @pytest.mark.parametrize(
        "action,resource,expected",
        [
            ("iam:CreateRole", "*", ["RolesWithBoundary"]),
            ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT_A}:role/*", ["RolesWithBoundary"]),
            ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT_A}:role/other-*", []),
            ("iam:*", f"arn:aws:iam::{ACCOUNT_A}:role/acme-x", ["RolesWithBoundary", "ReadRoles"]),
            ("iam:DeleteRolePermissionsBoundary", "*", []),
            ("s3:PutObject", "*", ["EverythingButIam"]),
            ("*", "*", ["RolesWithBoundary", "ReadRoles", "EverythingButIam"]),
        ],
    )
    def test_which_allow_statements_could_apply(self, action, resource, expected):
        """For "is escalation possible" checks: which Allow statements could apply to any
        request matching the action and resource patterns, conditions aside."""
        assert sids(could_allow(self.EXECUTION, action, resource)) == expected
