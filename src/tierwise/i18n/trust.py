"""User-facing text of the trust area (backup, restore, audit): key → (en, zh-CN)."""

MESSAGES: dict[str, tuple[str, str]] = {
    "backup_done": ("backup written to {path}: {files} files, {rows:,} store rows, {mb:.1f} MiB",
                    "备份已写入 {path}：{files} 个文件，操作库 {rows:,} 行，{mb:.1f} MiB"),
    "backup_verified": ("{path} is complete and intact ({files} workspace files checked)",
                        "{path} 完整无损（已校验 {files} 个工作区文件）"),
    "restore_done": ("workspace restored into {path}: {files} files, {rows:,} store rows; the audit log verifies",
                     "工作区已恢复到 {path}：{files} 个文件，操作库 {rows:,} 行；审计日志校验通过"),
    "audit_ok": ("audit log intact: {n} entries, hash chain verified", "审计日志完整：{n} 条记录，哈希链校验通过"),
    "audit_broken": ("audit log ALTERED: the hash chain breaks at record {seq}",
                     "审计日志已被篡改：哈希链在第 {seq} 条记录处断开"),
    "key_generated": ("new key {key_id} written to {path}: keep a copy somewhere safe, outside the workspace",
                      "新密钥 {key_id} 已写入 {path}：请在工作区之外妥善备份"),
    "key_ok": ("key {key_id} ({source}) opens all {blocks} sealed blocks ({rows:,} rows)",
               "密钥 {key_id}（{source}）可打开全部 {blocks} 个加密块（{rows:,} 行）"),
    "key_rotated": ("resealed {resealed} vault file(s) with key {new_key_id} (was {old_key_id}); the workspace now "
                    "uses {key_file}", "已用新密钥 {new_key_id} 重新加密 {resealed} 个文件（原密钥 {old_key_id}）；"
                    "工作区现使用 {key_file}"),
}
