"""OrderDesk: orders, approvals, projects and money inside WeCom."""
