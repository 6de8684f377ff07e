"""Data: not built yet."""
import streamlit as st

st.title("Data")
st.info("This step is not built yet.")
