"""The one table from our error codes to Tencent Cloud VPC's error codes.

Codes are those the SDK lists for the VPC actions (``tencentcloud.vpc.v20170312.
errorcodes``) and the common ones of API 3.0 (``AuthFailure.*``, ``InvalidAction``,
``NoSuchVersion``, ``UnsupportedRegion``); a unit test checks that every code here is
one of them. Tencent answers every error with HTTP 200, so only the code matters.
"""

from __future__ import annotations

from havip.api.compat.errors import CloudCode, ErrorTable
from havip.domain.errors import Kind

C = CloudCode

BIND = C("UnsupportedOperation.BindEIP")
RANGE = C("InvalidParameterValue.Range")
MALFORMED = C("InvalidParameterValue.Malformed")

TABLE = ErrorTable(
    rows={
        # authentication (raised by the facade itself)
        "Unauthenticated.UnknownAccessKey": C("AuthFailure.SecretIdNotFound"),
        "Unauthenticated.SignatureMismatch": C("AuthFailure.SignatureFailure"),
        "Unauthenticated.SignatureMissing": C("AuthFailure.InvalidAuthorization"),
        "Unauthenticated.RequestExpired": C("AuthFailure.SignatureExpire"),
        "Unauthenticated.TimestampMalformed": C("AuthFailure.SignatureExpire"),
        "Unauthenticated.NonceUsed": C("AuthFailure.SignatureFailure"),
        "InvalidAction.NotFound": C("InvalidAction"),
        "InvalidAction.Version": C("NoSuchVersion"),
        # request parameters
        "MissingParameter": C("MissingParameter"),
        "InvalidParameter.Filter": C("InvalidParameter.FilterInvalidKey"),
        "InvalidParameter.Coexist": C("InvalidParameter.Coexist"),
        "InvalidParameter.Unsupported": C("UnsupportedOperation"),
        "InvalidParameter.InstanceType": C("InvalidParameterValue"),
        "InvalidParameter.NextHopType": C("InvalidParameterValue"),
        "InvalidParameter.TooLong": C("InvalidParameterValue.TooLong"),
        "InvalidParameter.Value": MALFORMED,
        "InvalidParameter.Limit": C("InvalidParameterValue.LimitExceeded"),
        "InvalidClientToken.Malformed": MALFORMED,
        "InvalidParameter.ClientToken": C("UnsupportedOperation.IdempotentParameterMismatch"),
        "InvalidRegionId": C("UnsupportedRegion"),
        "InvalidName.Malformed": MALFORMED,
        "InvalidDescription.Malformed": MALFORMED,
        "InvalidName.Duplicate": C("InvalidParameterValue.Duplicate"),
        # addresses and CIDR blocks
        "InvalidIpAddress.Malformed": MALFORMED,
        "InvalidIpAddress.OutOfRange": RANGE,
        "InvalidIpAddress.Reserved": C("InvalidParameterValue.Reserved"),
        "InvalidIpAddress.AlreadyUsed": C("InvalidParameterValue.AddressIpNotAvailable"),
        "InsufficientIpAddresses": C("ResourceInsufficient.Subnet"),
        "InvalidCidrBlock": MALFORMED,
        "InvalidCidrBlock.OutsideVpc": C("InvalidParameterValue.SubnetRange"),
        "InvalidCidrBlock.PrefixLength": RANGE,
        "InvalidCidrBlock.Overlap": C("InvalidParameterValue.SubnetConflict"),
        "InvalidDestinationCidrBlock.Overlap": C("InvalidParameterValue.Duplicate"),
        "InvalidDestinationCidrBlock.OverlapsVpc": C("InvalidParameterValue.VpcCidrConflict"),
        "InvalidNextHop.VpcMismatch": C("InvalidParameterValue.RouteNextHopInvalid"),
        # HaVips and their drift range
        "InvalidMember.AlreadyAssociated": C("InvalidParameterValue.DuplicatedHaVipAssociations"),
        "InvalidMember.MixedTypes": C("InvalidParameterValue.ParameterMismatch"),
        "InvalidMember.NotInSameSubnet": C("InvalidParameterValue.ParameterMismatch"),
        "IncorrectStatus": C("UnsupportedOperation"),
        "DependencyViolation.HaVipHasMembers": C("UnsupportedOperation"),
        "DependencyViolation.HaVipAssociatedWithEip": C("UnsupportedOperation"),
        "DependencyViolation.HaVipReferredByRouteEntry": C("UnsupportedOperation"),
        "DependencyViolation": C("ResourceInUse"),
        "Conflict.UnassociateHolder": C("UnsupportedOperation"),
        "Conflict.Concurrent": C("UnsupportedOperation.MutexOperationTaskRunning"),
        "QuotaExceeded": C("LimitExceeded"),
        "QuotaExceeded.eips_per_havip": BIND,
        # EIPs
        "IncorrectEipStatus": {
            "*": C("UnsupportedOperation.InvalidAddressState"),
            "HaVipAssociateAddressIp": BIND,
            "HaVipDisassociateAddressIp": C("UnsupportedOperation.UnbindEIP"),
            "ReleaseAddresses": C("ResourceInUse.Address"),
        },
        "InsufficientEipAddresses": C("ResourceInsufficient"),
        "NotFound.Eip": {
            "*": C("ResourceNotFound"),
            "HaVipAssociateAddressIp": C("InvalidParameterValue.AddressIpNotFound"),
        },
        "NotFound": C("ResourceNotFound"),
        "Forbidden": C("UnauthorizedOperation"),
        "ServiceUnavailable": C("InternalError"),
    },
    by_kind={
        Kind.INVALID: C("InvalidParameterValue"),
        Kind.NOT_FOUND: C("ResourceNotFound"),
        Kind.CONFLICT: C("UnsupportedOperation"),
        Kind.QUOTA: C("LimitExceeded"),
        Kind.UNAUTHENTICATED: C("AuthFailure"),
        Kind.FORBIDDEN: C("UnauthorizedOperation"),
        Kind.INTERNAL: C("InternalError"),
    },
)
