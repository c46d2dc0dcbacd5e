def test_token_for_demo_user(demo, api_client):
    response = api_client.post(
        "/api/v1/auth/token/",
        {"username": "prescriber.milano", "password": "demo-password-648"},
        format="json",
    )
    assert response.status_code == 200
    assert len(response.json()["token"]) == 40
