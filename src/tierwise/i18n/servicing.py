"""User-facing text of the servicing area: key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "sv.assigned": ("{assigned:,} customers assigned ({by_rule}); unassigned now: {unassigned:,}",
                    "已指派 {assigned:,} 位客户（{by_rule}）；当前未指派：{unassigned:,}"),
    "sv.assigned_one": ("customer {customer} assigned to {manager}", "客户 {customer} 已指派给 {manager}"),
    "sv.managers_imported": ("{managers:,} managers read: {added:,} added, {updated:,} updated",
                             "读取客户经理 {managers:,} 名：新增 {added:,}，更新 {updated:,}"),
    "sv.managers_derived": ("{added:,} managers added from the customers table",
                            "已从客户表新增客户经理 {added:,} 名"),
    "sv.unassigned": ("{n:,} customers without an active owner", "{n:,} 位客户没有在职的客户经理"),
    "sv.generated": ("tasks for {on}: {created:,} created, {closed:,} closed as obsolete, {queued:,} messages "
                     "queued, {escalated:,} alerts escalated",
                     "{on} 的任务：新建 {created:,}，失效关闭 {closed:,}，待发消息 {queued:,}，升级督办 {escalated:,}"),
    "sv.completed": ("task {id} done: {outcome}", "任务 {id} 已完成：{outcome}"),
    "sv.exported": ("{n:,} tasks written to {path}", "已导出 {n:,} 条任务：{path}"),
    "sv.contacts": ("{rows:,} contacts read: {new:,} new, {duplicates:,} already logged; {cadence_closed:,} cadence "
                    "tasks completed", "读取联系记录 {rows:,} 条：新增 {new:,}，重复 {duplicates:,}；完成维护任务 "
                                       "{cadence_closed:,} 条"),
    "sv.escalated": ("{n:,} overdue alerts escalated", "已升级督办 {n:,} 条超时预警"),
    "sv.sent": ("sent {sent:,}, waiting to retry {retry:,}, failed {failed:,}",
                "已发送 {sent:,}，待重试 {retry:,}，失败 {failed:,}"),
    "sv.sms_exported": ("{n:,} SMS written to {path}", "已导出短信 {n:,} 条：{path}"),
}
