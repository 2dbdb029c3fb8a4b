"""People and who sees what: staff, the WeCom directory sync, customers, permissions and API
sessions."""
