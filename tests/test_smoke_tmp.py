def test_pages(client, make, auth):
    make.treatment("Sumatriptan")
    make.condition("Migraine", "G43", treatments=["sumatriptan"])
    for url in ["/", "/conditions", "/conditions/migraine", "/treatments", "/treatments/sumatriptan", "/doctors", "/search?q=migr", "/register", "/login", "/about"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:3000])
    auth.login()
    for url in ["/account", "/account/password", "/conditions/new", "/treatments/new", "/doctors/new"]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:3000])
