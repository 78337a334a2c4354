"""Every Tencent VPC action havip serves."""

from __future__ import annotations

from havip.api.compat.call import Handler
from havip.api.compat.tencent import eips, havips, network

ACTIONS: dict[str, Handler] = {
    "CreateHaVip": havips.create_havip,
    "DescribeHaVips": havips.describe_havips,
    "ModifyHaVipAttribute": havips.modify_havip_attribute,
    "DeleteHaVip": havips.delete_havip,
    "HaVipAssociateAddressIp": havips.associate_address_ip,
    "HaVipDisassociateAddressIp": havips.disassociate_address_ip,
    "AssociateHaVipInstance": havips.associate_instance,
    "DisassociateHaVipInstance": havips.disassociate_instance,
    "DescribeVpcTaskResult": eips.describe_vpc_task_result,
    "CreateVpc": network.create_vpc,
    "DescribeVpcs": network.describe_vpcs,
    "DeleteVpc": network.delete_vpc,
    "CreateSubnet": network.create_subnet,
    "DescribeSubnets": network.describe_subnets,
    "DeleteSubnet": network.delete_subnet,
    "DescribeRouteTables": network.describe_route_tables,
    "CreateRoutes": network.create_routes,
    "DeleteRoutes": network.delete_routes,
    "AllocateAddresses": eips.allocate_addresses,
    "DescribeAddresses": eips.describe_addresses,
    "ReleaseAddresses": eips.release_addresses,
}
