"""The one table from our error codes to Alibaba Cloud VPC's (code, HTTP status).

Codes are the ones the Alibaba documentation lists for the HaVip, EIP, route and
VPC actions (``../shared/research/cloud-api.md`` §1.3); where it lists none for one
of our rules, the closest documented code is used and docs/compat.md says so.
Status: 400 for a bad request or a refused state, 404 for a missing resource, 403
for a forbidden one, 500/503 for ours. The SDK raises ``ClientException`` for 4xx
and ``ServerException`` for 5xx, with ``code`` as given here.
"""

from __future__ import annotations

from havip.api.compat.errors import CloudCode, ErrorTable
from havip.domain.errors import Kind

C = CloudCode

TABLE = ErrorTable(
    rows={
        # authentication (raised by the facade itself)
        "Unauthenticated.UnknownAccessKey": C("InvalidAccessKeyId.NotFound", 404),
        "Unauthenticated.SignatureMismatch": C("SignatureDoesNotMatch", 400),
        "Unauthenticated.SignatureMissing": C("IncompleteSignature", 400),
        "Unauthenticated.RequestExpired": C("InvalidTimeStamp.Expired", 400),
        "Unauthenticated.TimestampMalformed": C("InvalidTimeStamp.Format", 400),
        "Unauthenticated.NonceUsed": C("SignatureNonceUsed", 400),
        "InvalidAction.NotFound": C("InvalidApi.NotFound", 404),
        "InvalidAction.Version": C("InvalidVersion", 400),
        # request parameters
        "MissingParameter": C("MissingParameter"),
        "InvalidParameter.Filter": C("InvalidFilterKey.ValueNotSupported"),
        "InvalidParameter.Unsupported": C("UnsupportedFeature"),
        "InvalidParameter.InstanceType": C("InvalidInstanceType.ValueNotSupported"),
        "InvalidParameter.NextHopType": C("InvalidNextHopType.ValueNotSupported"),
        "InvalidParameter.ClientToken": C("IdempotentParameterMismatch"),
        "InvalidClientToken.Malformed": C("InvalidClientToken.Malformed"),
        "InvalidRegionId.NotFound": C("InvalidRegionId.NotFound", 404),
        "InvalidRegionId.Mismatch": C("InvalidRegionId.Malformed"),
        "InvalidName.Malformed": C("InvalidName.Malformed"),
        "InvalidDescription.Malformed": C("InvalidDescription.Malformed"),
        "InvalidName.Duplicate": C("InvalidName.Duplicate"),
        # addresses and CIDR blocks
        "InvalidIpAddress.Malformed": C("InvalidIPAddress.Malformed"),
        "InvalidIpAddress.OutOfRange": C("InvalidIPAddress.OutOfRange"),
        "InvalidIpAddress.Reserved": C("InvalidIPAddress.NotAvailable"),
        "InvalidIpAddress.AlreadyUsed": C("InvalidIPAddress.AlreadyUsed"),
        "InsufficientIpAddresses": C("InvalidVSwitchId.IpNotEnough"),
        "InvalidCidrBlock": C("InvalidCidrBlock.Malformed"),
        "InvalidCidrBlock.Overlap": C("InvalidCidrBlock.Overlapped"),
        "InvalidDestinationCidrBlock": C("InvalidDestinationCidrBlock.Mismatch"),
        "InvalidDestinationCidrBlock.Overlap": C("InvalidCIDRBlock.Duplicate"),
        # HaVips
        "InvalidMember.NotInSameSubnet": C("NotBelongToSameVSwitch"),
        "InvalidMember.MixedTypes": C("InvalidInstanceType.ValueNotSupported"),
        "InvalidMember.AlreadyAssociated": C("InvalidAssociation.Duplicated"),
        "IncorrectStatus.HaVip": {
            "*": C("IncorrectHaVipStatus"),
            "DeleteHaVip": C("IncorrectStatus"),
            "ModifyHaVipAttribute": C("IncorrectStatus"),
        },
        "DependencyViolation.HaVipHasMembers": C("IncorrectStatus"),
        "DependencyViolation.HaVipAssociatedWithEip": C("DependencyViolation.HaVipAssociatedWithEIP"),
        "DependencyViolation.HaVipReferredByRouteEntry": C("DependencyViolation.HaVipReferedByRouteEntry"),
        "Conflict.UnassociateHolder": C("Forbidden.UnassociateMaster"),
        "QuotaExceeded.havips_per_account": C("QuotaExceeded.HaVip"),
        "QuotaExceeded.havips_per_vpc": C("QuotaExceeded.HaVip"),
        "QuotaExceeded.havips_per_member": C("CountLimitExceed.HaVipOnInstance"),
        "QuotaExceeded.members_per_havip": C("CountLimitExceeded.HaVipOnECSInstance"),
        "QuotaExceeded.eips_per_havip": C("InvalidAssociation.Duplicated"),
        "QuotaExceeded.havip_routes_per_table": C("CountLimitExceed.HaVipRouteEntry"),
        # EIPs, routes, VPCs
        "IncorrectEipStatus": C("IncorrectEipStatus"),
        "InsufficientEipAddresses": C("QuotaExceeded.Eip"),
        "InvalidNextHop.VpcMismatch": C("InvalidNextHopId.NotFound"),
        "DependencyViolation.VpcHasSubnets": C("DependencyViolation.VSwitch"),
        "DependencyViolation.VpcHasRouteEntries": C("DependencyViolation.RouteEntry"),
        "DependencyViolation.SubnetInUse": C("DependencyViolation"),
        "Conflict.Concurrent": C("OperationConflict"),
        # resources that do not exist (or are another account's)
        "NotFound.HaVip": {
            "*": C("InvalidHaVipId.NotFound", 404),
            "AssociateEipAddress": C("InvalidInstanId.NotFound", 404),
            "UnassociateEipAddress": C("InvalidInstanId.NotFound", 404),
            "CreateRouteEntry": C("InvalidHaVipId.NotFound", 404),
        },
        "NotFound.HaVipMember": C("ResourceNotAssociated"),
        "NotFound.Vpc": C("InvalidVpcId.NotFound", 404),
        "NotFound.Subnet": {"*": C("InvalidVSwitchId.NotFound", 404), "CreateHaVip": C("InvalidVSwitch.NotFound")},
        "NotFound.Instance": C("InvalidInstanceId.NotFound", 404),
        "NotFound.NetworkInterface": C("InvalidInstanceId.NotFound", 404),
        "NotFound.Eip": C("InvalidAllocationId.NotFound", 404),
        "NotFound.RouteTable": C("InvalidRouteTableId.NotFound", 404),
        "NotFound.RouteEntry": C("InvalidRouteEntryId.NotFound", 404),
        "Forbidden": C("Forbidden", 403),
        "ServiceUnavailable": C("ServiceUnavailable", 503),
    },
    by_kind={
        Kind.INVALID: C("InvalidParameter"),
        Kind.NOT_FOUND: C("InvalidParameter.NotFound", 404),
        Kind.CONFLICT: C("IncorrectStatus"),
        Kind.QUOTA: C("QuotaExceeded"),
        Kind.UNAUTHENTICATED: C("InvalidAccessKeyId.NotFound", 404),
        Kind.FORBIDDEN: C("Forbidden", 403),
        Kind.INTERNAL: C("InternalError", 500),
    },
)
