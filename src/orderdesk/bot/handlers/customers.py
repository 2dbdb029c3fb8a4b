"""新客户 / newcustomer: record a customer (and its first contact); 合同 / contract: look one up."""

from __future__ import annotations

from orderdesk.bot.parsing import BadArguments, split_args
from orderdesk.bot.router import Context, router
from orderdesk.directory.customer_admin import create_customer
from orderdesk.directory.customers import find_contracts, may_see_contract_money
from orderdesk.directory.messages import contracts_text, customer_created_text
from orderdesk.wecom.replies import Reply, TextReply

CONTACT_WORDS = ("联系人", "contact")


def parse_new_customer(args: str) -> dict[str, object]:
    """`<名称> [信用代码] [联系人 <姓名> [电话]]` into the create_customer body."""
    head, contact_part = args, ""
    for word in CONTACT_WORDS:
        before, found, after = args.partition(f" {word} ")
        if found:
            head, contact_part = before, after
            break
    words = split_args(head)
    if not words:
        raise BadArguments("请写上客户名称")
    data: dict[str, object] = {"name": words[0]}
    if len(words) > 1:
        data["credit_code"] = words[1]
    if len(words) > 2:
        raise BadArguments("客户名称中请不要带空格")
    contact = split_args(contact_part)
    if contact:
        if len(contact) > 2:
            raise BadArguments("联系人写法:联系人 <姓名> [电话]")
        data["contacts"] = [{"name": contact[0], "phone": contact[1] if len(contact) > 1 else None}]
    return data


@router.command(
    "新客户",
    "newcustomer",
    "new-customer",
    summary="新建客户(同名或同一信用代码的客户不会重复创建)",
    usage="新客户 <名称> [统一社会信用代码] [联系人 <姓名> [电话]]",
    example="新客户 杭州青禾数字科技 联系人 王敏 13800000000",
    mutates=True,
    internal_only=True,
)
def new_customer_command(ctx: Context) -> Reply:
    data = parse_new_customer(ctx.args)
    customer = create_customer(ctx.session, actor=ctx.actor, data=data)
    return TextReply(customer_created_text(customer))


@router.command(
    "合同",
    "contract",
    summary="查合同(编号、名称或客户名;金额仅对有权查看者显示)",
    usage="合同 <合同编号|客户名>",
    example="合同 HT-2026-001",
    internal_only=True,
)
def contract_command(ctx: Context) -> Reply:
    query = ctx.args.strip()
    if not query:
        raise BadArguments("请写上合同编号或客户名")
    found = find_contracts(ctx.session, actor=ctx.actor, query=query)
    shown = [(c, may_see_contract_money(ctx.actor, c)) for c in found]
    return TextReply(contracts_text(shown, query))
