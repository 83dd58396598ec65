"""How an order is paid, on the order's side: sending the client to Stripe's page
(`online`), choosing another method for an expected payment (`rechoose`), and how
« Mes commandes » and the order page present its payments (`summary`).

May import payments and the rest of orders; never distributions.
"""
