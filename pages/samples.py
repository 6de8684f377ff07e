"""Samples: not built yet."""
import streamlit as st

st.title("Samples")
st.info("This step is not built yet.")
