"""Search Augmentation Workbench: the domain core. Never imports streamlit."""
