"""What people read: exports, feedback pages, the class report and its charts."""
