"""新客户 through signed WeCom callbacks: creates the customer and its contact, refuses
duplicates and bad codes in Chinese, and is refused in client groups."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from orderdesk.models import Contact, Customer
from orderdesk.runtime import Runtime
from tests.chat_world import Chat, bind, build_world


@pytest.fixture
def chat(rt: Runtime, client: FlaskClient) -> Chat:
    with rt.db.transaction() as s:
        w = build_world(s)
        bind(s, "clientgrp", w.customers["yunqi"], "client")
    return Chat(client, rt)


def customers_named(rt: Runtime, name: str) -> list[Customer]:
    with rt.db.transaction() as s:
        found = list(s.scalars(select(Customer).where(Customer.name == name)))
        for c in found:
            _ = [(k.name, k.phone) for k in c.contacts]
        s.expunge_all()
        return found


def test_new_customer_with_contact_from_chat(rt: Runtime, chat: Chat) -> None:
    answer = chat.app("zhangsan", "新客户 杭州青禾数字科技 联系人 王敏 13800000000")
    assert "已新建客户 杭州青禾数字科技" in answer.text and "王敏 13800000000" in answer.text
    [made] = customers_named(rt, "杭州青禾数字科技")
    assert [(c.name, c.phone) for c in made.contacts] == [("王敏", "13800000000")]
    with rt.db.transaction() as s:
        owner = s.get(Customer, made.id).owner  # type: ignore[union-attr]
        assert owner is not None and owner.userid == "zhangsan"
    # Another salesperson cannot create it again (the guard is company-wide).
    again = chat.app("lisi", "newcustomer 杭州青禾数字科技")
    assert "已有同名客户" in again.text
    assert len(customers_named(rt, "杭州青禾数字科技")) == 1


def test_new_customer_with_credit_code_and_english_alias(rt: Runtime, chat: Chat) -> None:
    answer = chat.app("zhangsan", "new-customer 宁波甬禾 91350100m000100y43")
    assert "91350100M000100Y43" in answer.text
    clash = chat.app("lisi", "新客户 另一家 91350100M000100Y43 联系人 赵工")
    assert "统一社会信用代码已被其他客户使用" in clash.text
    assert customers_named(rt, "另一家") == []


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("新客户", "请写上客户名称"),
        ("新客户 某公司 91350100M000100Y44", "统一社会信用代码无效"),
        ("新客户 某公司 联系人 王敏 不是电话", "联系人"),
    ],
)
def test_bad_input_gets_a_chinese_reply_and_creates_nothing(
    rt: Runtime, chat: Chat, content: str, said: str
) -> None:
    with rt.db.transaction() as s:
        before = s.scalar(select(func.count(Customer.id)))
        contacts = s.scalar(select(func.count(Contact.id)))
    answer = chat.app("zhangsan", content)
    assert said in answer.text
    with rt.db.transaction() as s:
        assert s.scalar(select(func.count(Customer.id))) == before
        assert s.scalar(select(func.count(Contact.id))) == contacts


def test_roles_and_client_groups_are_refused(rt: Runtime, chat: Chat) -> None:
    assert "角色" in chat.app("zhoub", "新客户 某公司").text  # delivery
    refused = chat.bot("zhangsan", "新客户 某公司", chat="clientgrp")
    assert "某公司" not in refused.text
    assert customers_named(rt, "某公司") == []


@pytest.fixture
def contract(rt: Runtime, chat: Chat) -> str:
    from datetime import date
    from decimal import Decimal

    from orderdesk.models import Contract, Order

    with rt.db.transaction() as s:
        yunqi = s.scalars(select(Customer).where(Customer.short_name == "云启")).one()
        row = Contract(
            number="HT-2026-0042",
            customer_id=yunqi.id,
            title="ERP 实施合同",
            signed_date=date(2026, 3, 1),
            amount=Decimal("120000.00"),
        )
        s.add(row)
        s.flush()
        order = s.scalars(select(Order).where(Order.number == "SO-2026-0001")).one()
        order.contract_id = row.id
    return "HT-2026-0042"


def test_contract_lookup_in_scope_with_money_only_for_money_readers(
    chat: Chat, contract: str
) -> None:
    seen = chat.app("zhangsan", f"合同 {contract.lower()}")  # sees 云启 through SO-2026-0001
    assert contract in seen.text and "SO-2026-0001" in seen.text and "已签订" in seen.text
    assert "120,000" not in seen.text and "120000" not in seen.text  # not the customer's owner
    finance = chat.app("zhaoliu", "contract 云启")
    assert contract in finance.text and "120,000" in finance.text
    # lisi cannot see 云启: exactly the answer for a number that does not exist.
    assert chat.app("lisi", f"合同 {contract}").text == f"没有找到合同 {contract}"
    assert chat.app("lisi", "合同 HT-2099-0001").text == "没有找到合同 HT-2099-0001"
    assert "请写上合同编号" in chat.app("lisi", "合同").text
