"""Compare: not built yet."""
import streamlit as st

st.title("Compare")
st.info("This step is not built yet.")
