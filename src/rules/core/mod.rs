//! Rules the engine itself emits: files it cannot read, and suppression comments.

pub mod lg001_invalid_suppression;
pub mod lg002_unused_suppression;
pub mod lg003_unreadable_file;
pub mod lg004_symlink_loop;
pub mod lg005_not_a_lambda;
pub mod lg006_nothing_to_check;
pub mod lg007_code_not_located;
