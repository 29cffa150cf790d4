"""Customer upgrade (客户升级): candidates, next best product, campaigns and uplift. Table → table, no I/O."""
