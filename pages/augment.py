"""Augment: not built yet."""
import streamlit as st

st.title("Augment")
st.info("This step is not built yet.")
